// Browser test of the assistant's chat page: a question answered from a service description with
// its source (for a place the guest chose), a question no text answers handed over to the
// authority of the citizen's place, and the authority's list
// of such questions — without JavaScript on the pages, with axe-core on each.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, newPage, checkAccessibility, login } from './harness.mjs';

let demo;
before(async () => { demo = await startDemo(); });
after(async () => { await demo?.stop(); });

test('the chat page answers with sources, hands over, and passes axe-core', async () => {
  const visited = [];
  const guest = await newPage(demo.browser);
  await guest.goto(`${demo.base}/`);
  await guest.getByRole('link', { name: 'Fragen', exact: true }).click();
  await checkAccessibility(guest, 'Assistent leer', visited);

  // Empty question: an error on the field.
  await guest.getByRole('button', { name: 'Fragen', exact: true }).click();
  assert.match(await guest.locator('#question-error').textContent(), /Bitte geben Sie Ihre Frage ein/);
  await checkAccessibility(guest, 'Assistent Fehler', visited);

  await guest.getByLabel('Ihre Frage').fill('Welche Voraussetzungen gelten für den Bewohnerparkausweis?');
  // A guest may say where they live: the authority's texts come first, and the page says so.
  await guest.getByLabel('Ihr Wohnort').selectOption({ label: 'Stadt Leipzig' });
  await guest.getByRole('button', { name: 'Fragen', exact: true }).click();
  assert.match(await guest.locator('#answer').textContent(), /Hauptwohnsitz/);
  assert.match(await guest.locator('#answer-place').textContent(), /Stadt Leipzig/);
  assert.equal(await guest.getByLabel('Ihr Wohnort').inputValue(), '147130000000', 'the place stays chosen');
  const source = guest.locator('#sources a').first();
  assert.equal(await source.getAttribute('href'), '/leistungen/bewohnerparkausweis');
  await checkAccessibility(guest, 'Assistent Antwort mit Quelle', visited);
  await source.click();
  assert.match(await guest.locator('h1').textContent(), /Bewohnerparkausweis/);

  // Logged in, a question no text answers goes to the authority.
  const anna = await newPage(demo.browser);
  await login(anna, demo.base, /Anna Schmidt/);
  await anna.goto(`${demo.base}/assistent`);
  await anna.getByLabel('Ihre Frage').fill('Wann hat das Hallenbad am Sonntag geöffnet?');
  await anna.getByRole('button', { name: 'Fragen', exact: true }).click();
  assert.match(await anna.locator('#answer').textContent(), /keine Antwort/);
  // Her login says where she lives: her city's texts were searched first, and it is suggested.
  assert.match(await anna.locator('#answer-place').textContent(), /Stadt Leipzig/);
  assert.equal(await anna.getByLabel('Behörde').inputValue(), 'leipzig');
  await checkAccessibility(anna, 'Assistent ohne Antwort', visited);
  await anna.getByLabel('Behörde').selectOption({ label: 'Stadt Leipzig' });
  await anna.getByRole('button', { name: 'Frage senden' }).click();
  assert.match(await anna.locator('#handover-done').textContent(), /Stadt Leipzig hat Ihre Frage erhalten/);
  await checkAccessibility(anna, 'Assistent Frage gesendet', visited);

  // Leipzig's caseworker finds it.
  const katrin = await newPage(demo.browser);
  await login(katrin, demo.base, /Katrin Müller/);
  await katrin.getByRole('link', { name: 'Fragen aus dem Assistenten' }).click();
  assert.match(await katrin.locator('#inquiries').textContent(), /Hallenbad am Sonntag/);
  await checkAccessibility(katrin, 'Fragen aus dem Assistenten', visited);

  // She answers; an empty answer first gets an error on the field.
  await katrin.getByRole('button', { name: 'Antwort senden' }).first().click();
  assert.match(await katrin.locator('#inquiries .kern-error').first().textContent(), /Bitte geben Sie Ihre Antwort ein/);
  await checkAccessibility(katrin, 'Antwort ohne Text', visited);
  await katrin.getByLabel(/Antwort an Anna Schmidt/).first().fill('Das Sportbad hat sonntags von 8 bis 18 Uhr geöffnet.');
  await katrin.getByRole('button', { name: 'Antwort senden' }).first().click();
  assert.match(await katrin.locator('#inquiries').textContent(), /Ihre Antwort[\s\S]*8 bis 18 Uhr/);

  // The answer is in Anna's mailbox.
  await anna.goto(`${demo.base}/postfach`);
  await anna.getByRole('link', { name: /Antwort auf Ihre Frage/ }).first().click();
  assert.match(await anna.locator('main').textContent(), /Hallenbad am Sonntag[\s\S]*8 bis 18 Uhr/);
  await checkAccessibility(anna, 'Antwort im Postfach', visited);
  assert.equal(visited.length, 8);
});

// Browser test of the casework pages: the inbox with its filters, the case file with the rule
// trace, a question to the citizen and the answer from the mailbox, a Vermerk draft, the
// decision with its Bescheid, lead times, the data protection and admin pages — axe-core on each.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, newPage, checkAccessibility, login, fillParkingPermit, minimalPdf } from './harness.mjs';

let demo;
before(async () => { demo = await startDemo(); });
after(async () => { await demo?.stop(); });

test('casework pages work without JavaScript and pass axe-core', async () => {
  const visited = [];
  // Anna applies with an uploaded vehicle document: the rules cannot decide, a person does.
  const anna = await newPage(demo.browser);
  await login(anna, demo.base, /Anna Schmidt/);
  await anna.goto(`${demo.base}/leistungen/bewohnerparkausweis`);
  await anna.getByRole('button', { name: 'Antrag beginnen' }).click();
  await fillParkingPermit(anna);
  const upload = anna.locator('form.upload-form').nth(1);
  await upload.locator('input[type=file]').setInputFiles({ name: 'fahrzeugschein.pdf', mimeType: 'application/pdf', buffer: minimalPdf('Fahrzeugschein') });
  await upload.getByRole('button', { name: 'Hochladen', exact: true }).click();
  await anna.getByRole('button', { name: 'Antrag verbindlich absenden' }).click();

  // The caseworker finds it, filters, opens it, asks a question.
  const katrin = await newPage(demo.browser);
  await login(katrin, demo.base, /Katrin Müller/);
  // The list first: the filters take one compact row, so the first case is above the fold.
  const firstCase = await katrin.locator('table tbody tr').first().boundingBox();
  const viewport = katrin.viewportSize();
  assert.ok(firstCase && firstCase.y + firstCase.height <= viewport.height, `the first case is below the fold (${firstCase?.y} of ${viewport.height})`);
  await katrin.getByLabel('Bearbeitung').selectOption('none');
  await katrin.getByLabel('Sortierung').selectOption('deadline');
  await katrin.getByRole('button', { name: 'Anzeigen' }).click();
  await checkAccessibility(katrin, 'Posteingang gefiltert', visited);
  await katrin.locator('table a').first().click();
  assert.match(await katrin.locator('#rules').textContent(), /offen/);
  await checkAccessibility(katrin, 'Vorgang mit Regelprüfung', visited);
  await katrin.getByRole('button', { name: 'Vorgang übernehmen' }).click();
  assert.match(await katrin.locator('#assignee').textContent(), /Katrin Müller/);
  await katrin.getByRole('button', { name: 'Rückfrage senden' }).click();
  await checkAccessibility(katrin, 'Rückfrage ohne Text', visited);
  await katrin.getByLabel(/Neue Rückfrage/).fill('Bitte bestätigen Sie, dass Sie das Fahrzeug überwiegend selbst nutzen.');
  await katrin.getByRole('button', { name: 'Rückfrage senden' }).click();
  const caseUrl = katrin.url();

  // Anna answers from her mailbox.
  await anna.goto(`${demo.base}/postfach`);
  await anna.getByRole('link', { name: /Rückfrage/ }).first().click();
  await checkAccessibility(anna, 'Rückfrage im Postfach', visited);
  await anna.getByLabel('Ihre Antwort an die Behörde').fill('Ja, ich nutze das Fahrzeug selbst.');
  await anna.getByRole('button', { name: 'Antwort senden' }).click();
  assert.match(await anna.locator('#answer-given').textContent(), /nutze das Fahrzeug selbst/);

  // The answer is in the case; a Vermerk draft, then the decision with its Bescheid.
  await katrin.goto(caseUrl);
  assert.match(await katrin.locator('main').textContent(), /nutze das Fahrzeug selbst/);
  await katrin.getByRole('link', { name: 'Vermerk-Entwurf erstellen' }).click();
  assert.match(await katrin.getByLabel('Vermerk').inputValue(), /Sachverhalt[\s\S]*Prüfung[\s\S]*Ergebnis/);
  await checkAccessibility(katrin, 'Vermerk-Entwurf', visited);
  await katrin.getByRole('button', { name: 'Vermerk zur Akte nehmen' }).click();
  await katrin.getByLabel('Bewilligen').check();
  await katrin.getByLabel('Begründung').fill('Die Voraussetzungen liegen vor; die Nutzung ist bestätigt.');
  await katrin.getByRole('button', { name: 'Entscheidung zustellen' }).click();
  assert.ok(await katrin.getByRole('link', { name: 'Bescheid als PDF herunterladen' }).isVisible());
  await checkAccessibility(katrin, 'Vorgang entschieden', visited);
  await anna.goto(`${demo.base}/postfach`);
  await anna.getByRole('link', { name: /Bescheid/ }).first().click();
  const pdf = await anna.request.get(demo.base + await anna.getByRole('link', { name: 'Bescheid als PDF herunterladen' }).getAttribute('href'));
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  await checkAccessibility(anna, 'Bescheid im Postfach', visited);

  for (const [persona, path, what] of [
    [/Petra Lange/, '/arbeitsplatz/kennzahlen', 'Durchlaufzeiten'],
    [/Ines Wolf/, '/datenschutz', 'Datenschutz'],
    [/Frank Heller/, '/verwaltung', 'Fachadministration'],
  ]) {
    const p = await newPage(demo.browser);
    await login(p, demo.base, persona);
    await p.goto(demo.base + path);
    await checkAccessibility(p, what, visited);
  }
  assert.equal(visited.length, 10);
});

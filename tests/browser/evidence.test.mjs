// Browser test of once-only evidence: consent, the register's preview (EDM:ERR:0002) with
// accept, an upload instead, and the Datenschutzcockpit — axe-core on every state.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, newPage, checkAccessibility, login, fillParkingPermit, minimalPdf } from './harness.mjs';

let demo;
before(async () => { demo = await startDemo(); });
after(async () => { await demo?.stop(); });

test('preview, accept, upload instead, and Meine Daten pass axe-core', async () => {
  const visited = [];
  const page = await newPage(demo.browser);
  await login(page, demo.base, /Lena Hoffmann/);
  await page.goto(`${demo.base}/leistungen/energiepreispauschale`);
  await checkAccessibility(page, 'Leistung mit Nachweisen', visited);
  await page.getByRole('button', { name: 'Antrag beginnen' }).click();
  await page.getByLabel(/An welcher Hochschule/).fill('Universität Erfurt');
  await page.getByLabel(/IBAN/).fill('DE02 1203 0000 0000 2020 51');
  await page.getByLabel('Ich versichere').check();
  await page.getByRole('button', { name: 'Weiter zur Prüfung' }).click();
  // Without consent nothing is fetched.
  await page.getByRole('button', { name: 'Nachweis abrufen' }).click();
  assert.match(await page.locator('main').textContent(), /Ohne Ihre ausdrückliche Zustimmung/);
  await checkAccessibility(page, 'Nachweis ohne Zustimmung', visited);
  // With consent: the enrolment register asks for a preview first.
  await page.getByLabel(/diesen Nachweis beim immatrikulationsregister/).check();
  await page.getByRole('button', { name: 'Nachweis abrufen' }).click();
  assert.match(await page.locator('.evidence-card').textContent(), /Am Stichtag eingeschrieben/);
  await checkAccessibility(page, 'Vorschau des Nachweises', visited);
  await page.getByRole('button', { name: 'Nachweis übernehmen' }).click();
  assert.match(await page.locator('.evidence-card').textContent(), /Liegt vor/);
  await checkAccessibility(page, 'Nachweis übernommen', visited);
  await page.goto(`${demo.base}/meine-daten`);
  assert.match(await page.locator('table').textContent(), /Vorschau verlangt/);
  await checkAccessibility(page, 'Meine Daten mit Vorschau', visited);

  // Anna uploads the vehicle document instead of having it fetched.
  const anna = await newPage(demo.browser);
  await login(anna, demo.base, /Anna Schmidt/);
  await anna.goto(`${demo.base}/leistungen/bewohnerparkausweis`);
  await anna.getByRole('button', { name: 'Antrag beginnen' }).click();
  await fillParkingPermit(anna);
  const upload = anna.locator('form.upload-form').nth(1);
  await upload.locator('input[type=file]').setInputFiles({ name: 'fahrzeugschein.pdf', mimeType: 'application/pdf', buffer: minimalPdf('Fahrzeugschein') });
  await upload.getByRole('button', { name: 'Hochladen', exact: true }).click();
  assert.match(await anna.locator('.evidence-card').nth(1).textContent(), /Dokument hochgeladen/);
  await checkAccessibility(anna, 'Nachweis hochgeladen', visited);
  assert.equal(visited.length, 6);
});

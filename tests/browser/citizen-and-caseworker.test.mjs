// Browser test: the citizen path and the caseworker decision in Debian chromium, driven by
// playwright-core, with axe-core checking every page visited (WCAG 2.1 A and AA).
//
// Needs: target/debug/amtsweg (built by scripts/test), /usr/bin/chromium, npm packages.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, newPage as openPage, checkAccessibility as axeCheck, login as loginAs, fillParkingPermit } from './harness.mjs';

let demo, base, browser;
const visited = [];

before(async () => {
  demo = await startDemo();
  ({ base, browser } = demo);
});

after(async () => {
  await demo?.stop();
});

const checkAccessibility = (page, what) => axeCheck(page, what, visited);
const newPage = () => openPage(browser);
const login = (page, personaLabel) => loginAs(page, base, personaLabel, visited);

test('citizen applies, caseworker decides, citizen reads the decision', async () => {
  const citizen = await newPage();
  await citizen.goto(base + '/');
  await checkAccessibility(citizen, 'Startseite');

  await login(citizen, /Anna Schmidt/);
  await citizen.getByRole('link', { name: 'Bewohnerparkausweis' }).click();
  assert.equal(await citizen.getByRole('heading', { level: 1 }).textContent(), 'Bewohnerparkausweis');
  await checkAccessibility(citizen, 'Leistung');
  await citizen.getByRole('button', { name: 'Antrag beginnen' }).click();
  await checkAccessibility(citizen, 'Formular');

  // An incomplete form: error summary, marked fields, values kept.
  await citizen.getByLabel('Amtliches Kennzeichen').fill('falsch');
  await citizen.getByRole('button', { name: 'Weiter zur Prüfung' }).click();
  const summary = citizen.locator('#fehlerliste');
  assert.match(await summary.textContent(), /Kennzeichen in der Form L-AB 1234/);
  assert.equal(await citizen.getByLabel('Amtliches Kennzeichen').inputValue(), 'falsch');
  assert.equal(await citizen.getByLabel('Amtliches Kennzeichen').getAttribute('aria-invalid'), 'true');
  await checkAccessibility(citizen, 'Formular mit Fehlern');
  await summary.getByRole('link').first().click();
  assert.equal(await citizen.evaluate(() => location.hash), '#kennzeichen');

  await fillParkingPermit(citizen);
  assert.equal(await citizen.getByRole('heading', { level: 1 }).textContent(), 'Bitte prüfen Sie Ihre Angaben');
  assert.match(await citizen.locator('dl').textContent(), /01\.03\.2099/);
  await checkAccessibility(citizen, 'Angaben prüfen');
  // Once-only: with consent, the residence comes from the register.
  await citizen.getByLabel(/diesen Nachweis beim melderegister/).check();
  await citizen.getByRole('button', { name: 'Nachweis abrufen' }).first().click();
  assert.match(await citizen.locator('#nachweise ~ .evidence-card').first().textContent(), /Liegt vor/);
  await checkAccessibility(citizen, 'Angaben prüfen mit Nachweis');
  await citizen.getByRole('button', { name: 'Antrag verbindlich absenden' }).click();
  const caseNumber = (await citizen.locator('#aktenzeichen').textContent()).trim();
  assert.match(caseNumber, /^L-\d{4}-\d{6}$/);
  await checkAccessibility(citizen, 'Eingangsbestätigung');
  await citizen.getByRole('link', { name: 'Meine Anträge' }).first().click();
  assert.match(await citizen.locator('table').textContent(), new RegExp(caseNumber));
  await checkAccessibility(citizen, 'Meine Anträge');

  // The caseworker in Leipzig decides.
  const staff = await newPage();
  await login(staff, /Katrin Müller/);
  assert.equal(await staff.getByRole('heading', { level: 1 }).textContent(), 'Posteingang');
  await checkAccessibility(staff, 'Posteingang');
  await staff.getByRole('link', { name: caseNumber }).click();
  await checkAccessibility(staff, 'Vorgang');
  await staff.getByRole('button', { name: 'Entscheidung zustellen' }).click();
  assert.match(await staff.locator('#fehlerliste').textContent(), /Bitte begründen Sie/);
  await checkAccessibility(staff, 'Vorgang mit Fehlern');
  await staff.getByLabel('Bewilligen').check();
  await staff.getByLabel('Begründung').fill('Hauptwohnsitz im Bewohnerparkgebiet und Fahrzeughaltung sind nachgewiesen.');
  await staff.getByRole('button', { name: 'Entscheidung zustellen' }).click();
  assert.match(await staff.locator('main').textContent(), /Bewilligt/);
  await checkAccessibility(staff, 'Vorgang entschieden');

  // The citizen reads the decision.
  await citizen.getByRole('link', { name: 'Postfach' }).first().click();
  await checkAccessibility(citizen, 'Postfach');
  await citizen.getByRole('link', { name: new RegExp(caseNumber) }).click();
  assert.match(await citizen.locator('main').textContent(), /Hauptwohnsitz im Bewohnerparkgebiet/);
  await checkAccessibility(citizen, 'Bescheid');
  await citizen.getByRole('link', { name: 'Meine Anträge' }).first().click();
  assert.match(await citizen.locator('table').textContent(), /Entschieden/);
  await citizen.getByRole('link', { name: 'Meine Daten' }).first().click();
  assert.match(await citizen.locator('table').textContent(), /Nachweis übermittelt/);
  await checkAccessibility(citizen, 'Meine Daten');
  await citizen.goto(base + '/gibt-es-nicht');
  await checkAccessibility(citizen, 'Fehlerseite');

  if (process.env.AMTSWEG_SCREENSHOT) {
    const shot = await newPage();
    await shot.setViewportSize({ width: 1100, height: 800 });
    await login(shot, /Jonas Weber/);
    await shot.goto(base + '/leistungen/bewohnerparkausweis');
    await shot.getByRole('button', { name: 'Antrag beginnen' }).click();
    await shot.getByRole('button', { name: 'Weiter zur Prüfung' }).click();
    await shot.evaluate(async () => { await document.fonts.ready; });
    await shot.waitForTimeout(500);
    await shot.screenshot({ path: process.env.AMTSWEG_SCREENSHOT, fullPage: false });
  }
  assert.ok(visited.length >= 14, `pages checked: ${visited.join(', ')}`);
});

// Browser test: the citizen path and the caseworker decision in Debian chromium, driven by
// playwright-core, with axe-core checking every page visited (WCAG 2.1 A and AA).
//
// Needs: target/debug/amtsweg (built by scripts/test), /usr/bin/chromium, npm packages.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const binary = process.env.AMTSWEG_BIN || join(root, 'target', 'debug', 'amtsweg');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

let demo, base, browser, dataDir;
const visited = [];

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'amtsweg-browser-'));
  demo = spawn(binary, ['demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir,
    '--kern-dir', join(root, 'node_modules', '@kern-ux', 'native', 'dist')], { stdio: ['ignore', 'pipe', 'pipe'] });
  base = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('demo did not start: ' + out)), 30000);
    demo.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (m) { clearTimeout(timer); resolve(m[0]); }
    });
    let err = '';
    demo.stderr.on('data', (chunk) => { err += chunk; });
    demo.on('error', (e) => { clearTimeout(timer); reject(new Error(`${binary} could not start: ${e.message}`)); });
    demo.on('exit', (code) => reject(new Error(`demo exited with ${code}: ${out} ${err}`)));
  });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  demo?.kill('SIGTERM');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Runs axe-core on the page and fails with a readable list of violations. */
async function checkAccessibility(page, what) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  const problems = result.violations.map((v) =>
    `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).join('\n    ')}`);
  visited.push(what);
  assert.equal(problems.length, 0, `axe-core on ${what} (${page.url()}):\n  ${problems.join('\n  ')}`);
}

async function newPage() {
  // bypassCSP only so that the test can inject axe-core; the pages themselves run no script.
  const context = await browser.newContext({ bypassCSP: true, locale: 'de-DE' });
  return context.newPage();
}

async function login(page, personaLabel) {
  await page.goto(base + '/anmelden');
  await checkAccessibility(page, 'Anmelden');
  await page.getByLabel(personaLabel).check();
  await page.getByRole('button', { name: 'Anmelden' }).click();
}

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

  await citizen.getByLabel('Amtliches Kennzeichen').fill('L-AB 1234');
  await citizen.getByLabel('Wer ist Halterin oder Halter des Fahrzeugs?').selectOption('selbst');
  await citizen.getByLabel('Ab wann benötigen Sie den Ausweis?').fill('01.03.2099');
  await citizen.getByLabel('Gültigkeitsdauer').selectOption('12');
  await citizen.getByLabel('Ich versichere').check();
  await citizen.getByRole('button', { name: 'Weiter zur Prüfung' }).click();
  assert.equal(await citizen.getByRole('heading', { level: 1 }).textContent(), 'Bitte prüfen Sie Ihre Angaben');
  assert.match(await citizen.locator('dl').textContent(), /01\.03\.2099/);
  await checkAccessibility(citizen, 'Angaben prüfen');
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

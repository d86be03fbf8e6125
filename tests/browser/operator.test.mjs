// Browser test of the platform operator's pages: Dresden is created, made responsible for the
// Bewohnerparkausweis and for a service imported from a FIM schema it has never seen, a
// caseworker is invited and sets up their login from the one-time link; then the Dresden
// citizen applies and the application lands in Dresden's inbox. axe-core on every page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo, newPage, checkAccessibility, login, fillParkingPermit, totp, root } from './harness.mjs';

let demo;
before(async () => { demo = await startDemo(); });
after(async () => { await demo?.stop(); });

test('the operator sets up Dresden through the pages; its citizen applies', async () => {
  const visited = [];
  const op = await newPage(demo.browser);
  await login(op, demo.base, /Robert Neumann/);
  assert.equal(new URL(op.url()).pathname, '/betrieb');
  await checkAccessibility(op, 'Plattformbetrieb', visited);

  // A refused authority shows its errors at the fields; a good one is created.
  await op.getByLabel('Name der Behörde').fill('Landeshauptstadt Dresden');
  await op.getByLabel('Regionalschlüssel (ARS)').fill('1461');
  await op.getByRole('button', { name: 'Behörde anlegen' }).click();
  assert.match(await op.locator('#fehlerliste').textContent(), /Regionalschlüssel oder sein Anfang/);
  assert.equal(await op.getByLabel('Name der Behörde').inputValue(), 'Landeshauptstadt Dresden', 'nothing typed is lost');
  await checkAccessibility(op, 'Behörde anlegen mit Fehler', visited);
  await op.getByLabel('Regionalschlüssel (ARS)').fill('146120000000');
  await op.getByLabel('Postanschrift (eine Zeile)').fill('Dr.-Külz-Ring 19, 01067 Dresden');
  await op.getByLabel('E-Mail').fill('buergerbuero@dresden.de');
  await op.getByRole('button', { name: 'Behörde anlegen' }).click();
  assert.match(op.url(), /\/betrieb\/behoerden\/landeshauptstadt-dresden/);
  await checkAccessibility(op, 'Behörde', visited);

  // A caseworker invited: the link is shown once.
  await op.getByLabel('Name', { exact: true }).fill('Susanne Berger');
  await op.getByLabel('Benutzername').fill('s.berger');
  await op.getByLabel('Rolle').selectOption('caseworker');
  await op.getByRole('button', { name: 'Einladen' }).click();
  const invitation = (await op.locator('code.secret').textContent()).trim();
  assert.match(invitation, /\/einladung\//);
  await checkAccessibility(op, 'Einladung angelegt', visited);

  // Responsible for the Bewohnerparkausweis in the city; who is responsible, and why.
  await op.goto(`${demo.base}/betrieb/zustaendigkeiten`);
  await checkAccessibility(op, 'Zuständigkeiten', visited);
  await op.getByLabel('Behörde').selectOption('landeshauptstadt-dresden');
  const add = op.locator('form[action="/betrieb/zustaendigkeiten"]');
  await add.getByLabel('Leistung').selectOption('bewohnerparkausweis');
  await add.getByLabel('Region').fill('14612');
  await op.getByRole('button', { name: 'Zuständigkeit eintragen' }).click();
  assert.match(await op.locator('main').textContent(), /Die Zuständigkeit ist eingetragen/);
  const ask = op.locator('form[method="get"]');
  await ask.getByLabel('Leistung').selectOption('bewohnerparkausweis');
  await ask.getByLabel('Ort (Regionalschlüssel)').fill('146120000000');
  await op.getByRole('button', { name: 'Zuständigkeit ermitteln' }).click();
  assert.match(await op.locator('#erklaerung').textContent(), /Landeshauptstadt Dresden zuständig/);
  await checkAccessibility(op, 'Wer ist zuständig', visited);
  // An import with a refused line reports it.
  await op.getByLabel('Oder den Inhalt hier einfügen').fill('authority_id,service_id,region\nlandeshauptstadt-dresden,bewohnerparkausweis,14612\n');
  await op.getByRole('button', { name: 'Importieren' }).click();
  assert.match(await op.locator('main').textContent(), /Zeile 2: .*bereits Landeshauptstadt Dresden zuständig/);
  await checkAccessibility(op, 'Import mit abgelehnter Zeile', visited);

  // A service from a FIM schema the demo never imported, then Dresden made responsible for it.
  await op.goto(`${demo.base}/betrieb/leistungen`);
  await checkAccessibility(op, 'Leistungen', visited);
  await op.getByLabel('Stammdatenschema (XML)').setInputFiles(join(root, '..', 'shared', 'fixtures', 'fim', 'xdf3', 'xdf3-sample.xml'));
  await op.getByLabel('Name für Bürgerinnen und Bürger').fill('Beispielleistung aus XDatenfelder 3');
  await op.getByRole('button', { name: 'Schema importieren' }).click();
  const imported = new URL(op.url()).searchParams.get('importiert');
  assert.ok(imported, op.url());
  await op.getByRole('link', { name: 'Beispielleistung aus XDatenfelder 3' }).click();
  await checkAccessibility(op, 'Leistung bearbeiten', visited);
  await op.getByLabel('Kurzbeschreibung (ein Satz)').fill('Ein Beispiel aus dem FIM-Baukasten.');
  await op.getByRole('button', { name: 'Änderungen speichern' }).click();
  assert.match(await op.locator('main').textContent(), /Die Änderungen sind gespeichert/);
  await op.goto(`${demo.base}/betrieb/zustaendigkeiten`);
  await op.getByLabel('Behörde').selectOption('landeshauptstadt-dresden');
  await add.getByLabel('Leistung').selectOption(imported);
  await add.getByLabel('Region').fill('146120000000');
  await op.getByRole('button', { name: 'Zuständigkeit eintragen' }).click();
  assert.match(await op.locator('main').textContent(), /Die Zuständigkeit ist eingetragen/);

  // The invited colleague sets up password and second factor, then logs in.
  const susanne = await newPage(demo.browser);
  await susanne.goto(invitation);
  await checkAccessibility(susanne, 'Zugang einrichten', visited);
  const secret = (await susanne.locator('#schluessel').textContent()).trim();
  const password = 'Elbflorenz am Blauen Wunder';
  await susanne.getByLabel('Neues Passwort').fill(password);
  await susanne.getByLabel('Passwort wiederholen').fill(password);
  await susanne.getByLabel('Einmalcode aus der App').fill(totp(secret));
  await susanne.getByRole('button', { name: 'Zugang einrichten' }).click();
  assert.equal(new URL(susanne.url()).pathname, '/anmelden');
  await susanne.getByLabel('Benutzername').fill('s.berger');
  await susanne.getByLabel('Passwort').fill(password);
  await susanne.getByLabel(/Einmalcode/).fill(totp(secret));
  await susanne.getByRole('button', { name: 'Als Mitarbeiterin oder Mitarbeiter anmelden' }).click();
  await susanne.waitForURL(`${demo.base}/arbeitsplatz`);
  // The link was good once.
  const again = await newPage(demo.browser);
  const gone = await again.goto(invitation);
  assert.equal(gone.status(), 404);

  // Tom Richter of Dresden applies; the application lands in Dresden's inbox.
  const tom = await newPage(demo.browser);
  await login(tom, demo.base, /Tom Richter/);
  await tom.goto(`${demo.base}/leistungen/bewohnerparkausweis`);
  await tom.getByRole('button', { name: 'Antrag beginnen' }).click();
  await fillParkingPermit(tom);
  await tom.getByRole('button', { name: 'Antrag verbindlich absenden' }).click();
  const receipt = await tom.locator('main').textContent();
  const number = receipt.match(/DRE-\d{4}-\d+/);
  assert.ok(number, receipt);
  await susanne.goto(`${demo.base}/arbeitsplatz`);
  assert.match(await susanne.locator('main').textContent(), new RegExp(number[0]));
  assert.equal(visited.length, 10);
});

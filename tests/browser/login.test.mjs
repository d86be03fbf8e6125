// Browser test of the citizen login through OpenID Connect: the demo configured with the test
// provider (npm oidc-provider on loopback), a login at level "substantiell", a service that needs
// "hoch" offering the step-up, the step-up, and the logout that goes on to the provider — in
// chromium, without JavaScript on our pages, with axe-core on each of our pages on the way.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, startProvider, freePort, newPage, checkAccessibility, totp } from './harness.mjs';

let demo;
let provider;
let base;
before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  provider = await startProvider(base);
  demo = await startDemo({
    listen: `127.0.0.1:${port}`,
    env: {
      AMTSWEG_OIDC_ISSUER: provider.issuer,
      AMTSWEG_OIDC_CLIENT_ID: provider.client_id,
      AMTSWEG_OIDC_CLIENT_SECRET: provider.client_secret,
      AMTSWEG_PUBLIC_URL: base,
      AMTSWEG_OIDC_SCOPES: 'profile address amtsweg',
    },
  });
});
after(async () => {
  await demo?.stop();
  provider?.stop();
});

const person = {
  given_name: 'Annegret',
  family_name: 'Quellmalz',
  birthdate: '1987-03-14',
  address: { street_address: 'Karl-Heine-Straße 12', postal_code: '04229', locality: 'Leipzig', country: 'DE' },
  ars: '147130000000',
};

test('login with the account, step-up to "hoch", logout at the provider too', async () => {
  const visited = [];
  const page = await newPage(demo.browser);
  await page.goto(`${base}/leistungen/energiepreispauschale`);
  assert.match(await page.locator('main').textContent(), /Vertrauensniveau „hoch“/);
  await page.getByRole('link', { name: 'Anmelden und Antrag beginnen' }).click();
  await checkAccessibility(page, 'Anmelden mit Nutzerkonto und Demo', visited);

  await provider.nextLogin('sub-annegret', 'substantiell', person);
  await page.getByRole('link', { name: 'Mit Nutzerkonto anmelden' }).click();
  await page.waitForURL(`${base}/leistungen/energiepreispauschale`);
  assert.match(await page.locator('header').textContent(), /Annegret Quellmalz/);
  // Logged in at "substantiell": the service asks for a new login instead of offering the form.
  assert.equal(await page.getByRole('button', { name: 'Antrag beginnen' }).count(), 0);
  await checkAccessibility(page, 'Leistung: Anmeldung reicht nicht aus', visited);

  await provider.nextLogin('sub-annegret', 'hoch', person);
  await page.getByRole('link', { name: 'Erneut anmelden' }).click();
  await page.waitForURL(`${base}/leistungen/energiepreispauschale`);
  await page.getByRole('button', { name: 'Antrag beginnen' }).click();
  assert.match(page.url(), /\/antraege\/[^/]+\/formular$/);
  await checkAccessibility(page, 'Formular nach Anmeldung mit „hoch“', visited);

  // Logout, in a browser that enforces our Content-Security-Policy (the pages above let axe-core
  // in): our session ends, and the form's answer may take the browser on to the provider.
  const strict = await demo.browser.newContext({ locale: 'de-DE' });
  await strict.addCookies(await page.context().cookies());
  const plain = await strict.newPage();
  const blocked = [];
  plain.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) blocked.push(m.text()); });
  await plain.goto(`${base}/antraege`);
  await plain.getByRole('button', { name: 'Abmelden' }).click();
  await plain.waitForURL((url) => url.href.startsWith(`${provider.issuer}/session/end`));
  assert.deepEqual(blocked, [], 'no CSP violation');
  await plain.goto(`${base}/antraege`);
  assert.equal(new URL(plain.url()).pathname, '/anmelden', 'logged out here');
  assert.deepEqual(visited.length, 3);
});


test('staff log in with password and one-time code; a wrong code is refused', async () => {
  const visited = [];
  const account = demo.tokens.staff_logins.find((s) => s.role === 'caseworker');
  assert.ok(account, 'the demo gives its staff password logins');
  const page = await newPage(demo.browser);
  await page.goto(`${base}/anmelden`);
  await page.getByLabel('Benutzername').fill(account.login);
  await page.getByLabel('Passwort').fill(account.password);
  await page.getByLabel(/Einmalcode/).fill('000000' === totp(account.totp_secret) ? '111111' : '000000');
  await page.getByRole('button', { name: 'Als Mitarbeiterin oder Mitarbeiter anmelden' }).click();
  assert.match(await page.locator('main').textContent(), /Benutzername, Passwort oder Einmalcode stimmen nicht/);
  await checkAccessibility(page, 'Anmeldung der Mitarbeitenden abgelehnt', visited);

  await page.getByRole('link', { name: 'Zurück zur Anmeldung' }).click();
  await page.getByLabel('Benutzername').fill(account.login);
  await page.getByLabel('Passwort').fill(account.password);
  await page.getByLabel(/Einmalcode/).fill(totp(account.totp_secret));
  await page.getByRole('button', { name: 'Als Mitarbeiterin oder Mitarbeiter anmelden' }).click();
  await page.waitForURL(`${base}/arbeitsplatz`);
  assert.match(await page.locator('header').textContent(), new RegExp(account.name));
  await checkAccessibility(page, 'Arbeitsplatz nach Passwort-Anmeldung', visited);
});

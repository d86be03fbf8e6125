// The pages under their real Content-Security-Policy. The other browser tests let axe-core in
// (bypassCSP), which would hide a style, font, image or form the policy blocks; here chromium
// enforces it, and any violation it reports fails.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo } from './harness.mjs';

let demo;
before(async () => { demo = await startDemo(); });
after(async () => { await demo?.stop(); });

test('the pages load everything they need under the policy, and forms work', async () => {
  const context = await demo.browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const violations = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(`${page.url()}: ${m.text()}`); });
  const walk = async (paths) => {
    for (const path of paths) {
      const response = await page.goto(demo.base + path);
      assert.equal(response.status(), 200, path);
      assert.match(response.headers()['content-security-policy'], /script-src 'none'/);
      // The design system's stylesheet applied (not the browser's default serif font).
      const font = await page.evaluate(() => getComputedStyle(document.body).fontFamily);
      assert.doesNotMatch(font, /^(serif|"?Times)/i, `${path}: ${font}`);
    }
  };
  await walk(['/', '/leistungen/bewohnerparkausweis', '/anmelden', '/assistent']);

  // A form under the policy: the persona login, then the start of an application.
  await page.goto(demo.base + '/anmelden');
  await page.getByLabel(/Anna Schmidt/).check();
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
  await page.goto(demo.base + '/leistungen/bewohnerparkausweis');
  await page.getByRole('button', { name: 'Antrag beginnen' }).click();
  assert.match(page.url(), /\/antraege\/[^/]+\/formular$/);
  await walk(['/antraege', '/postfach', '/meine-daten']);
  assert.deepEqual(violations, []);
  await context.close();
});

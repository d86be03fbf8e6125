// Browser tests of forms generated from real FIM schemas: every page of the Asbest form, also in
// its error states, passes axe-core; a MuSchG submission filled in by the browser validates
// against the form's exported JSON Schema with an independent validator (Python jsonschema).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemo, newPage, checkAccessibility, login } from './harness.mjs';

let demo;
before(async () => { demo = await startDemo(); });
after(async () => { await demo?.stop(); });

async function startApplication(page, service) {
  await page.goto(`${demo.base}/leistungen/${service}`);
  await page.getByRole('button', { name: 'Antrag beginnen' }).click();
  const formUrl = page.url().replace(/\/formular.*$/, '/formular');
  const heading = await page.locator('h1').textContent();
  const m = heading.match(/Seite \d+ von (\d+)/);
  return { formUrl, pages: m ? Number(m[1]) : 1 };
}

test('every page of the Asbest form, with and without errors, passes axe-core', async () => {
  const visited = [];
  const page = await newPage(demo.browser);
  await login(page, demo.base, /Anna Schmidt/, visited);
  await page.goto(`${demo.base}/leistungen/s00000186`);
  await checkAccessibility(page, 'Leistung Asbest', visited);
  const { formUrl, pages } = await startApplication(page, 's00000186');
  assert.ok(pages >= 5, `Asbest has one page per top-level group (${pages})`);
  for (let n = 1; n <= pages; n++) {
    await page.goto(`${formUrl}/${n}`);
    await checkAccessibility(page, `Asbest Seite ${n}`, visited);
    const add = page.getByRole('button', { name: /^Weitere/ }).first();
    if (await add.count()) {
      await add.click();
      await checkAccessibility(page, `Asbest Seite ${n} nach „hinzufügen“`, visited);
    }
    await page.getByRole('button', { name: /Speichern und weiter|Weiter zur Prüfung/ }).click();
    if (await page.locator('#fehlerliste').count()) {
      assert.match(await page.locator('title').textContent(), /^Fehler: /);
      await checkAccessibility(page, `Asbest Seite ${n} mit Fehlern`, visited);
      // The summary links to fields that exist on the page.
      const target = await page.locator('#fehlerliste a').first().getAttribute('href');
      assert.equal(await page.locator(`[id="${target.slice(1)}"]`).count(), 1, `${target} on page ${n}`);
    }
  }
  await page.goto(formUrl.replace('/formular', '/pruefen'));
  await checkAccessibility(page, 'Asbest Prüfseite', visited);
  assert.ok(visited.length >= pages + 5, visited.join(", "));
});

/** Fills every input of the current page with a plausible valid value. */
async function fillPage(page) {
  const inputs = await page.locator('main input[type=text]:not([readonly]), main textarea').all();
  for (const input of inputs) {
    const id = await input.getAttribute('id');
    const label = (await page.locator(`label[for="${id}"]`).textContent()).trim();
    const hint = (await page.locator(`[id="${id}-hint"]`).count()) ? await page.locator(`[id="${id}-hint"]`).textContent() : '';
    let value = 'Beispiel';
    if (/TT\.MM\.JJJJ/.test(hint)) value = '01.03.2026';
    else if (/Postleitzahl/.test(label)) value = '04109';
    else if (/Hausnummer/.test(label)) value = '12';
    else if (/E-Mail/.test(label)) value = 'info@example.org';
    else if (/Telefon|Telefax/.test(label)) value = '0341 1234567';
    else if (/^Tag/.test(label)) value = '15';
    else if (/^Monat/.test(label)) value = '6';
    else if (/^Jahr/.test(label)) value = '1990';
    else if ((await input.getAttribute('inputmode')) === 'numeric') value = '3';
    await input.fill(value);
  }
  for (const select of await page.locator('main select').all()) {
    const options = await select.locator('option').evaluateAll((os) => os.map((o) => o.value).filter((v) => v));
    await select.selectOption(options[0]);
  }
  for (const radio of await page.locator('main input[type=radio][value=false]').all()) await radio.check();
  for (const box of await page.locator('main input[type=checkbox]').all()) await box.check();
}

test('a MuSchG submission filled in by the browser validates against the exported JSON Schema', async () => {
  const page = await newPage(demo.browser);
  await login(page, demo.base, /Marie Fischer/);
  const { formUrl, pages } = await startApplication(page, 's00000094');
  for (let n = 1; n <= pages; n++) {
    assert.ok(page.url().startsWith(formUrl), page.url());
    await fillPage(page);
    await page.getByRole('button', { name: /Speichern und weiter|Weiter zur Prüfung/ }).click();
    const errors = await page.locator('#fehlerliste').count();
    assert.equal(errors, 0, errors ? await page.locator('#fehlerliste').textContent() : '');
  }
  assert.equal(await page.locator('h1').textContent(), 'Bitte prüfen Sie Ihre Angaben');
  await checkAccessibility(page, 'MuSchG Prüfseite');
  await page.getByRole('button', { name: 'Antrag verbindlich absenden' }).click();
  assert.match(await page.locator('#aktenzeichen').textContent(), /^HAL-\d{4}-\d{6}$/);

  const token = demo.tokens.citizens.find((c) => c.name === 'Marie Fischer').token;
  const headers = { authorization: `Bearer ${token}` };
  const applications = await (await fetch(`${demo.base}/api/v1/applications`, { headers })).json();
  const submitted = applications.find((a) => a.service_id === 's00000094' && a.status === 'submitted');
  const service = await (await fetch(`${demo.base}/api/v1/services/s00000094`)).json();
  const dir = mkdtempSync(join(tmpdir(), 'amtsweg-jsonschema-'));
  writeFileSync(join(dir, 'schema.json'), JSON.stringify(service.form_schema));
  writeFileSync(join(dir, 'data.json'), JSON.stringify(submitted.data));
  const broken = structuredClone(submitted.data);
  delete broken.G00000258;
  writeFileSync(join(dir, 'broken.json'), JSON.stringify(broken));
  const validate = (file) => {
    try {
      execFileSync('python3', ['-c', 'import json,sys,jsonschema\n'
        + 'jsonschema.Draft202012Validator(json.load(open(sys.argv[1])), format_checker=jsonschema.FormatChecker()).validate(json.load(open(sys.argv[2])))',
        join(dir, 'schema.json'), join(dir, file)], { stdio: 'pipe' });
      return 'valid';
    } catch (e) {
      return String(e.stderr);
    }
  };
  assert.equal(validate('data.json'), 'valid');
  assert.match(validate('broken.json'), /ValidationError/, 'the validator must notice a missing required group');
});

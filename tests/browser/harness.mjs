// Shared by the browser tests: starts `amtsweg demo` on a free port and Debian chromium, logs in
// demo personas, and runs axe-core (WCAG 2.1 A and AA) on a page.

import { execFileSync, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const binary = process.env.AMTSWEG_BIN || join(root, 'target', 'debug', 'amtsweg');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Starts `amtsweg demo`; `options.listen` (default a free port) and `options.env` (more
 * configuration, e.g. a login provider) are optional. */
export async function startDemo(options = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'amtsweg-browser-'));
  const demo = spawn(binary, ['demo', '--listen', options.listen ?? '127.0.0.1:0', '--data-dir', dataDir,
    '--kern-dir', join(root, 'node_modules', '@kern-ux', 'native', 'dist'),
    '--fim-fixtures', join(root, '..', 'shared', 'fixtures', 'fim')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Every test logs in from the same address, more often than a person would.
    env: { ...process.env, AMTSWEG_RATE_LIMIT_LOGIN_PER_MINUTE: '600', ...(options.env ?? {}) },
  });
  // The demo's log (standard error), searched for personal data when the demo stops.
  let err = '';
  const base = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('demo did not start: ' + out + err)), 30000);
    demo.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/läuft unter (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    demo.stderr.on('data', (chunk) => { err += chunk; });
    demo.on('error', (e) => { clearTimeout(timer); reject(new Error(`${binary} could not start: ${e.message}`)); });
    demo.on('exit', (code) => reject(new Error(`demo exited with ${code}: ${out} ${err}`)));
  });
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const tokens = JSON.parse(readFileSync(join(dataDir, 'demo-tokens.json'), 'utf8'));
  return {
    base, browser, tokens,
    async stop() {
      await browser.close();
      const exited = new Promise((resolve) => demo.once('exit', resolve));
      demo.kill('SIGTERM');
      await exited;
      const logFile = join(dataDir, 'demo.log');
      writeFileSync(logFile, err);
      try {
        // Fails (throws) when the log holds a demo person's name, IdNr, address or birth date.
        execFileSync('python3', [join(root, 'scripts', 'check-log-pii'), join(dataDir, 'amtsweg-demo.db'), logFile], { stdio: 'pipe' });
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

export async function newPage(browser) {
  // bypassCSP only so that the test can inject axe-core; the pages themselves run no script.
  const context = await browser.newContext({ bypassCSP: true, locale: 'de-DE' });
  return context.newPage();
}

/** Runs axe-core on the page and fails with a readable list of violations. */
export async function checkAccessibility(page, what, visited) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  const problems = result.violations.map((v) =>
    `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).join('\n    ')}`);
  if (visited) visited.push(what);
  assert.equal(problems.length, 0, `axe-core on ${what} (${page.url()}):\n  ${problems.join('\n  ')}`);
}

export async function login(page, base, personaLabel, visited) {
  await page.goto(base + '/anmelden');
  if (visited) await checkAccessibility(page, 'Anmelden', visited);
  await page.getByLabel(personaLabel).check();
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
}

/** Fills in a valid Bewohnerparkausweis form (the page that is open) and goes on to the check page. */
export async function fillParkingPermit(page) {
  await page.getByLabel('Amtliches Kennzeichen').fill('L-AB 1234');
  await page.getByLabel('Wer ist Halterin oder Halter des Fahrzeugs?').selectOption('selbst');
  await page.getByLabel('Ab wann benötigen Sie den Ausweis?').fill('01.03.2099');
  await page.getByLabel('Gültigkeitsdauer').selectOption('12');
  await page.getByLabel('Ich versichere').check();
  await page.getByRole('button', { name: 'Weiter zur Prüfung' }).click();
}

/** A free port on loopback (for a demo whose address must be known before it starts). */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The OpenID Connect provider of the tests (tests/oidc/provider.mjs, npm oidc-provider). */
export async function startProvider(appBase) {
  const child = spawn(process.execPath, [join(root, 'tests', 'oidc', 'provider.mjs')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, REDIRECT_URI: `${appBase}/anmelden/rueckkehr`, POST_LOGOUT_URI: `${appBase}/` },
  });
  const ready = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the provider did not start: ' + out)), 30000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n')) { clearTimeout(timer); resolve(JSON.parse(line)); }
    });
    child.on('exit', (code) => reject(new Error(`the provider exited with ${code}: ${out}`)));
  });
  const post = async (path, body) => {
    const r = await fetch(ready.issuer + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(r.status, 204, `${path}: ${r.status}`);
  };
  return {
    ...ready,
    nextLogin: (sub, acr, claims) => post('/test/login', { sub, acr, claims }),
    stop: () => child.kill('SIGTERM'),
  };
}

/** The TOTP code of a base32 secret now (RFC 6238: SHA-1, six digits, 30 s). */
export function totp(secret) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, '0');
}

// A valid one-page PDF showing `text` (uploads are parsed: a file that only starts like a PDF
// is refused).
export function minimalPdf(text) {
  const content = `BT /F1 12 Tf 72 770 Td (${text}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.7\n';
  const offsets = objects.map((body, i) => {
    const offset = out.length;
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
    return offset;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) out += `${String(offset).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

// Browser test of the Mängelmelder: Anna Schmidt reports dumped rubbish by address with a photo
// (no JavaScript needed), the department (Katrin Müller) moderates and publishes it, another
// visitor reporting the same sees the duplicate suggestion and supports it, the department
// closes it, and Anna finds the status in her mailbox. A second citizen places a problem on the
// map, drawn from the operator's own tile server (here a small HTTP server of the test). axe-core
// on every page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { deflateSync } from 'node:zlib';
import { startDemo, newPage, checkAccessibility, login } from './harness.mjs';

let demo;
let tiles;
let tilesServed = 0;
before(async () => {
  // The operator's tile server: every tile the same small picture.
  const tile = png(256, 256, [170, 211, 223]);
  tiles = createServer((req, res) => {
    tilesServed += 1;
    res.writeHead(200, { 'content-type': 'image/png' });
    res.end(tile);
  });
  await new Promise((resolve) => tiles.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${tiles.address().port}/{z}/{x}/{y}.png`;
  demo = await startDemo({ env: { AMTSWEG_MAP_TILE_URL: url, AMTSWEG_MAP_ATTRIBUTION: '© Testkacheln' } });
});
after(async () => { await demo?.stop(); tiles?.close(); });

/** A small PNG of one colour (red unless told), written with zlib. */
function png(width, height, colour = [200, 30, 30]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4); sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0); header.writeUInt32BE(height, 4);
  header[8] = 8; header[9] = 2; header[10] = 0; header[11] = 0; header[12] = 0;
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, Buffer.from(colour))]);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

test('a citizen reports by address with a photo; the department moderates and closes it', async () => {
  const visited = [];
  const anna = await newPage(demo.browser);
  await login(anna, demo.base, /Anna Schmidt/);

  // Where: by address, without a map.
  await anna.goto(`${demo.base}/maengel`);
  await checkAccessibility(anna, 'Mangel melden', visited);
  await anna.getByLabel('Adresse').fill('Nirgendwostraße 1');
  await anna.getByRole('button', { name: 'Weiter', exact: true }).click();
  assert.match(await anna.locator('#fehlerliste').textContent(), /nicht im Adressverzeichnis/);
  await checkAccessibility(anna, 'Adresse unbekannt', visited);
  await anna.getByLabel('Adresse').fill('Grimmaische Str. 21');
  await anna.getByRole('button', { name: 'Weiter', exact: true }).click();
  assert.match(await anna.locator('main').textContent(), /Grimmaische Straße 21, 04109 Leipzig/);
  await checkAccessibility(anna, 'Was möchten Sie melden?', visited);

  // What: dumped rubbish (moderated before publication).
  await anna.getByLabel('Illegale Müllablagerung').check();
  await anna.getByRole('button', { name: 'Weiter', exact: true }).click();
  if (await anna.getByRole('link', { name: 'Trotzdem neu melden' }).count()) {
    await checkAccessibility(anna, 'Meldungen in der Nähe', visited);
    await anna.getByRole('link', { name: 'Trotzdem neu melden' }).click();
  }
  await checkAccessibility(anna, 'Formular', visited);
  await anna.getByLabel('Geschätzte Menge in Kubikmetern').fill('0,5');
  await anna.getByLabel('Beschreibung').fill('Mehrere Müllsäcke neben dem Hauseingang.');
  await anna.locator('#foto').setInputFiles({ name: 'muell.png', mimeType: 'image/png', buffer: png(40, 30) });
  await anna.getByRole('button', { name: 'Meldung senden' }).click();
  const heading = await anna.locator('h1').textContent();
  const id = heading.match(/Meldung Nr\. (\d+)/)[1];
  assert.match(await anna.locator('main').textContent(), /prüft sie/);
  await checkAccessibility(anna, 'Meldung eingegangen', visited);

  // The department: the report waits for moderation; it is published with its photo.
  const katrin = await newPage(demo.browser);
  await login(katrin, demo.base, /Katrin Müller/);
  await katrin.goto(`${demo.base}/arbeitsplatz/maengel?stand=ungeprueft`);
  await checkAccessibility(katrin, 'Meldungen des Teams', visited);
  await katrin.getByRole('link', { name: id, exact: true }).click();
  await checkAccessibility(katrin, 'Meldung im Arbeitsplatz', visited);
  assert.equal(await katrin.locator('img.report-photo').count(), 1);
  await katrin.getByLabel('Öffentlicher Text').fill('Mehrere Müllsäcke am Hauseingang.');
  await katrin.getByLabel('Veröffentlichen').check();
  await katrin.getByRole('button', { name: 'Speichern', exact: true }).click();
  assert.match(await katrin.locator('main').textContent(), /öffentliche Text ist gespeichert/);

  // Another visitor, not logged in, reports the same: the duplicate is offered.
  const visitor = await newPage(demo.browser);
  await visitor.goto(`${demo.base}/maengel/melden?adresse=Grimmaische+Stra%C3%9Fe+21&kategorie=muell`);
  const offered = visitor.locator(`form[action="/maengel/meldungen/${id}/unterstuetzen"]`);
  assert.equal(await offered.count(), 1, 'the report nearby is offered');
  await checkAccessibility(visitor, 'Doppelte Meldung?', visited);
  await offered.getByRole('button', { name: 'Diese Meldung unterstützen' }).click();
  assert.match(await visitor.locator('main').textContent(), /Sie haben diese Meldung unterstützt/);
  assert.match(await visitor.locator('main').textContent(), /Mehrere Müllsäcke am Hauseingang\./);
  await checkAccessibility(visitor, 'Öffentliche Meldung', visited);

  // The department closes it with a note.
  await katrin.getByLabel('Neuer Stand').selectOption('fixed');
  await katrin.getByLabel('Öffentliche Notiz').fill('Die Stadtreinigung hat die Säcke abgeholt.');
  await katrin.getByRole('button', { name: 'Stand speichern' }).click();
  assert.match(await katrin.locator('main').textContent(), /Stand ist geändert/);
  await katrin.goto(`${demo.base}/arbeitsplatz/maengel/kennzahlen`);
  await checkAccessibility(katrin, 'Kennzahlen', visited);

  // Anna sees the status in her mailbox, and on the public pages.
  await anna.goto(`${demo.base}/postfach`);
  assert.match(await anna.locator('main').textContent(), new RegExp(`Ihre Meldung Nr\\. ${id}: behoben`));
  await checkAccessibility(anna, 'Postfach', visited);
  await anna.goto(`${demo.base}/maengel/meldungen`);
  await checkAccessibility(anna, 'Gemeldete Mängel', visited);
  await anna.goto(`${demo.base}/maengel/meldungen/${id}`);
  assert.match(await anna.locator('main').textContent(), /behoben – Die Stadtreinigung hat die Säcke abgeholt\./);
  assert.ok(!(await anna.locator('main').textContent()).includes('Anna'), 'no name of the reporter on the public page');
  // The service admin's page.
  const frank = await newPage(demo.browser);
  await login(frank, demo.base, /Frank Heller/);
  await frank.goto(`${demo.base}/verwaltung/maengel`);
  await checkAccessibility(frank, 'Mängelmelder einrichten', visited);
  await frank.getByLabel('Kategorie als JSON').fill('{"code":"x"');
  await frank.getByRole('button', { name: 'Kategorie speichern' }).click();
  assert.match(await frank.locator('#fehlerliste').textContent(), /kein gültiges JSON/);
  await checkAccessibility(frank, 'Kategorie abgelehnt', visited);
  console.log(`axe-core clean on ${visited.length} pages: ${visited.join(', ')}`);
});

test('a citizen places a problem on the map, without JavaScript', async () => {
  const visited = [];
  const page = await newPage(demo.browser);
  const asked = [];
  page.on('request', (request) => asked.push(new URL(request.url()).port));
  await page.goto(`${demo.base}/maengel`);
  const map = page.locator('input[type=image][name=karte]');
  assert.equal(await map.count(), 1, 'the map is shown when a tile server is configured');
  assert.match(await page.locator('#karte').textContent(), /Karte: © Testkacheln/);
  await checkAccessibility(page, 'Mangel melden mit Karte', visited);
  // Near Leipzig's market, zoomed in by clicks until a click places the point.
  await page.goto(`${demo.base}/maengel?mlat=51.3406&mlon=12.3747&z=12#karte`);
  for (let i = 0; i < 2; i++) {
    assert.match(await page.locator('#karte-titel').textContent(), /Auf der Karte suchen/);
    await page.locator('input[type=image][name=karte]').click({ position: { x: 320, y: 200 } });
  }
  assert.match(await page.locator('#karte-titel').textContent(), /Ort auf der Karte wählen/);
  await checkAccessibility(page, 'Karte auf Straßenebene', visited);
  await page.locator('input[type=image][name=karte]').click({ position: { x: 330, y: 210 } });
  assert.match(page.url(), /\/maengel\/melden\?lat=51\.3\d+&lon=12\.37\d+/);
  assert.match(await page.locator('main').textContent(), /zuständig: Stadt Leipzig/);
  assert.match(await page.locator('input[type=image][name=karte]').getAttribute('src'), /&plat=/, 'the point is marked');
  await checkAccessibility(page, 'Was möchten Sie melden? (Karte)', visited);
  // The picture is a PNG drawn by amtsweg from the tiles; the browser never asked the tile server.
  const picture = await page.request.get(`${demo.base}${await page.locator('input[type=image][name=karte]').getAttribute('src')}`);
  assert.equal(picture.headers()['content-type'], 'image/png');
  assert.ok(tilesServed > 0, 'amtsweg fetched tiles');
  assert.ok(!asked.includes(String(tiles.address().port)), 'the browser never asked the tile server itself');
  assert.ok(asked.length > 0);
  console.log(`axe-core clean on ${visited.length} map pages; ${tilesServed} tiles fetched by the server`);
});

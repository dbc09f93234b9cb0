// Drives the admin console in headless Chromium against a running `hallway-server serve --demo`
// (scripts/test-console starts it and sets HALLWAY_URL). Each step leaves a screenshot in HALLWAY_ARTIFACTS.
// Letters PDFs are read back page by page with pdfjs-dist and their QR codes decoded with jsqr (both installed
// by scripts/test-console).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// ES modules ignore NODE_PATH: resolve playwright-core from the cache directory the script installed it in.
const require = createRequire(join(process.env.NODE_PATH || join(process.cwd(), 'node_modules'), 'noop.js'));
const { chromium } = require('playwright-core');
const jsQR = require('jsqr');
const pdfjs = await importQuietly(require.resolve('pdfjs-dist/legacy/build/pdf.mjs'));

/** Imports pdfjs without its warnings that Node lacks a canvas: it only reads text and drawing here, never renders. */
async function importQuietly(path) {
  const { log, warn } = console;
  console.log = console.warn = () => {};
  try {
    return await import(pathToFileURL(path).href);
  } finally {
    Object.assign(console, { log, warn });
  }
}

const BASE = process.env.HALLWAY_URL || 'http://127.0.0.1:8080';
const ARTIFACTS = process.env.HALLWAY_ARTIFACTS || tmpdir();
const STEP_TIMEOUT = 15_000;

let browser;
let page;
let profile;
let files;
let shot = 0;

async function screenshot(name) {
  shot += 1;
  await page.screenshot({ path: join(ARTIFACTS, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
}

async function waitForServer() {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${BASE}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch { /* not up yet */ }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`the server at ${BASE} did not answer /healthz within 90 s`);
}

async function signIn(login, password) {
  await page.goto(`${BASE}/admin`);
  await page.fill('#login-name', login);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
}

/** The admin API as the signed-in page sees it (same token, same origin). */
async function apiGet(path) {
  return page.evaluate(async (p) => {
    const token = sessionStorage.getItem('hallway.admin.token');
    const response = await fetch(p, { headers: { Authorization: `Bearer ${token}` } });
    return response.json();
  }, path);
}

/** A POST to the admin API with the signed-in page's token: `{status, body}`. */
async function apiPost(path, body) {
  return page.evaluate(async ([p, b]) => {
    const token = sessionStorage.getItem('hallway.admin.token');
    const response = await fetch(p, {
      method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(b),
    });
    return { status: response.status, body: await response.json() };
  }, [path, body]);
}

/** Redeems an activation code as the app would, outside the browser: the answer's status. */
async function activate(code) {
  const response = await fetch(`${BASE}/api/v1/auth/activate`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code, password: 'a letter came home 2026' }),
    signal: AbortSignal.timeout(STEP_TIMEOUT),
  });
  return response.status;
}

const CODE = /^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/m;

/** The QR code a page draws (filled squares, one per dark module), rebuilt as a bitmap and decoded. */
function qrOnPage(operators) {
  const squares = [];
  operators.fnArray.forEach((fn, i) => {
    if (fn !== pdfjs.OPS.constructPath) return;
    const [kinds, coords] = operators.argsArray[i];
    assert.ok(kinds.every((kind) => kind === pdfjs.OPS.rectangle), 'a letter draws nothing but the squares of its QR code');
    for (let at = 0; at < coords.length; at += 4) squares.push(coords.slice(at, at + 4));
  });
  assert.ok(squares.length > 0, 'the page draws a QR code');
  const module = squares[0][2];
  const left = Math.min(...squares.map((s) => s[0]));
  const top = Math.max(...squares.map((s) => s[1] + s[3]));
  const cells = squares.map((s) => [Math.round((s[0] - left) / module), Math.round((top - s[1] - s[3]) / module)]);
  const width = Math.max(...cells.map(([col]) => col)) + 1;
  // 4 pixels per module and a quiet zone of 4 modules, as a camera would see the print.
  const scale = 4;
  const quiet = 4;
  const side = (width + 2 * quiet) * scale;
  const pixels = new Uint8ClampedArray(side * side * 4).fill(255);
  for (const [col, row] of cells) {
    for (let y = 0; y < scale; y++) {
      for (let x = 0; x < scale; x++) {
        const at = (((row + quiet) * scale + y) * side + (col + quiet) * scale + x) * 4;
        pixels[at] = pixels[at + 1] = pixels[at + 2] = 0;
      }
    }
  }
  const found = jsQR(pixels, side, side);
  assert.ok(found, 'the QR code decodes');
  return found.data;
}

/** Every page of a letters PDF: the name it is for, the code it carries, the link its QR code holds, its text. */
async function readLetters(path) {
  const doc = await pdfjs.getDocument({ data: new Uint8Array(readFileSync(path)), verbosity: 0, isEvalSupported: false }).promise;
  try {
    const letters = [];
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      const text = (await page.getTextContent()).items.map((item) => item.str).join('\n');
      letters.push({ name: text.match(/^For (.+)$/m)?.[1], code: text.match(CODE)?.[0], qr: qrOnPage(await page.getOperatorList()), text });
    }
    return letters;
  } finally {
    await doc.destroy();
  }
}

/** Clicks a letters button, catches the download, saves it and reads it back. */
async function downloadLetters(button, saveAs) {
  const download = page.waitForEvent('download');
  await page.click(button);
  const file = await download;
  assert.equal(file.suggestedFilename(), 'hallway-letters.pdf');
  const saved = join(files, saveAs);
  await file.saveAs(saved);
  assert.equal(readFileSync(saved).subarray(0, 5).toString(), '%PDF-');
  return readLetters(saved);
}

/** Each page is its person's: their name and username, a code of its own, and a QR code of that code's link. */
function checkLetters(letters, people) {
  assert.equal(letters.length, people.length, 'one page per person');
  for (const [i, letter] of letters.entries()) {
    const person = people[i];
    assert.equal(letter.name, person.display_name, `page ${i + 1}`);
    assert.match(letter.text, new RegExp(`username,\\s+${person.username},`), `page ${i + 1} names the username`);
    assert.match(letter.code ?? '', CODE, `page ${i + 1} carries a code`);
    assert.equal(letter.qr, `${BASE}/join/${letter.code}`, `page ${i + 1}'s QR code is its invitation link`);
  }
  assert.equal(new Set(letters.map((l) => l.code)).size, letters.length, 'every page has a code of its own');
}

/** The letters of the import, kept to check that printing again ends their codes. */
let importLetters = [];

before(async () => {
  await waitForServer();
  profile = mkdtempSync(join(tmpdir(), 'hallway-chromium-'));
  files = mkdtempSync(join(tmpdir(), 'hallway-console-files-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.HALLWAY_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1024, height: 768 },
    acceptDownloads: true,
    timeout: 60_000,
  });
  page = browser.pages()[0] || await browser.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  // Deactivation and code resets ask for confirmation.
  page.on('dialog', (dialog) => dialog.accept());
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  // Refused requests (the import refused on purpose) log a failed load; anything else is a real problem.
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(message.text());
  });
  page.problems = problems;
});

after(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  if (files) rmSync(files, { recursive: true, force: true });
});

test('a teacher is told the console is for admins only', async () => {
  await signIn('teacher1', 'demo-password');
  const error = page.locator('#login-error');
  await error.waitFor({ state: 'visible' });
  assert.match(await error.textContent(), /for school admins only/);
  assert.equal(await page.locator('#nav').isVisible(), false);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('hallway.admin.token')), null);
  await screenshot('teacher-refused');
});

test('the admin signs in and sees the people of the school', async () => {
  await signIn('admin', 'demo-password');
  await page.locator('#people-table tbody tr[data-username="parent1"]').waitFor();
  assert.equal(await page.locator('#people-table tbody tr').count(), 7);
  assert.match(await page.locator('#whoami-name').textContent(), /Alex Morgan/);
  await page.fill('#people-q', 'chen');
  await page.click('#people-search button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#people-table tbody tr').length === 2);
  await screenshot('people');
});

test('an import with one bad line shows its line number and imports nothing', async () => {
  const bad = join(files, 'bad.csv');
  writeFileSync(bad, 'role,username,display_name,email,children\n'
    + 'teacher,newteacher,New Teacher,new.teacher@school.example,\n'
    + 'parent,newparent,New Parent,,newkid\n'
    + 'janitor,newjanitor,New Janitor,,\n'
    + 'student,newkid,New Kid,,\n');
  await page.goto(`${BASE}/admin#import`);
  await page.setInputFiles('#import-file', bad);
  await page.click('#import-check');
  await page.locator('#import-problems tbody tr').first().waitFor();
  const cells = await page.locator('#import-problems tbody tr').first().locator('td').allTextContents();
  assert.equal(cells[0], '4');
  assert.equal(cells[1], 'role');
  await screenshot('import-dry-run-report');
  await page.click('#import-run');
  await page.waitForFunction(() => /Nothing was imported/.test(document.querySelector('#import-summary').textContent));
  const found = await apiGet('/api/v1/admin/users?q=newteacher');
  assert.equal(found.total, 0, 'nothing was imported');
  await screenshot('import-refused');
});

test('a good import returns the activation codes', async () => {
  const good = join(files, 'good.csv');
  writeFileSync(good, 'role,username,display_name,email,children\n'
    + 'teacher,newteacher,New Teacher,new.teacher@school.example,\n'
    + 'parent,newparent,New Parent,,newkid;student1\n'
    + 'student,newkid,New Kid,,\n');
  await page.setInputFiles('#import-file', good);
  await page.click('#import-check');
  await page.waitForFunction(() => /The file is ready: 3 people/.test(document.querySelector('#import-summary').textContent));
  await page.click('#import-run');
  await page.locator('#import-codes tbody tr').nth(2).waitFor();
  const row = await page.locator('#import-codes tbody tr').first().locator('td').allTextContents();
  assert.equal(row[0], 'newteacher');
  assert.match(row[3], /^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
  const download = page.waitForEvent('download');
  await page.click('#import-download');
  const file = await download;
  const saved = join(files, 'codes.csv');
  await file.saveAs(saved);
  assert.equal((await import('node:fs')).readFileSync(saved, 'utf8').split('\n')[0], 'username,display_name,role,activation_code');
  const found = await apiGet('/api/v1/admin/users?q=newparent');
  assert.deepEqual(found.users[0].children.map((c) => c.username).sort(), ['newkid', 'student1']);
  await screenshot('import-done');
});

test("the whole import prints as one letter per person, and a letter's code works where the CSV's no longer does", async () => {
  // Who the letters are for, from the file and the admin API, not from the page.
  const usernames = ['newteacher', 'newparent', 'newkid'];
  const people = [];
  for (const username of usernames) {
    const found = await apiGet(`/api/v1/admin/users?${new URLSearchParams({ q: username })}`);
    people.push(found.users.find((u) => u.username === username));
  }
  const csvCodes = await page.locator('#import-codes tbody tr td:nth-child(4)').allTextContents();
  assert.match(await page.locator('#import-result .warning').textContent(), /Printing makes new codes/);
  const letters = await downloadLetters('#letters-import', 'import-letters.pdf');
  checkLetters(letters, people);
  await page.locator('#letters-import-status', { hasText: 'Downloaded hallway-letters.pdf: 3 letters.' }).waitFor();
  await screenshot('import-letters');
  assert.equal(await activate(csvCodes[0]), 401, "the import's code stopped working when the letter was printed");
  assert.equal(await activate(letters[0].code), 200, "the letter's code works");
  importLetters = letters;
});

test('the admin deactivates a person', async () => {
  await page.goto(`${BASE}/admin#people`);
  await page.fill('#people-q', 'parent2');
  await page.click('#people-search button[type=submit]');
  const row = page.locator('#people-table tbody tr[data-username="parent2"]');
  await row.locator('button[data-action=deactivate]').click();
  await row.locator('.status-deactivated').waitFor();
  await row.locator('button[data-action=reactivate]').waitFor();
  await screenshot('deactivated');
});

test('both actions are in the audit log, and the filters find them', async () => {
  await page.goto(`${BASE}/admin#audit`);
  await page.locator('#audit-table tbody tr[data-action="user.deactivate"]').waitFor();
  await page.locator('#audit-table tbody tr[data-action="roster.import"]').waitFor();
  await screenshot('audit');
  await page.fill('#audit-action', 'roster');
  await page.click('#audit-form button[type=submit]');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#audit-table tbody tr')];
    return rows.length === 1 && rows[0].dataset.action === 'roster.import';
  });
  await screenshot('audit-filtered');
});

test("a class's letters go to its students' parents, once each, and the error envelope shows when printing fails", async () => {
  // A class with three students; New Parent has two children in it, Ravi Singh (parent2) is deactivated.
  const students = (await apiGet('/api/v1/admin/users?role=student&limit=200')).users
    .filter((u) => ['student1', 'student2', 'newkid'].includes(u.username));
  assert.equal(students.length, 3);
  const created = await apiPost('/api/v1/conversations', { kind: 'group', name: 'Class 5A', member_ids: students.map((s) => s.id) });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  // The expected letters, from the students' guardians (each once, deactivated ones left out).
  const guardians = new Map();
  for (const student of students) {
    for (const guardian of (await apiGet(`/api/v1/admin/users/${student.id}`)).guardians) guardians.set(guardian.id, guardian);
  }
  const parents = [];
  for (const id of guardians.keys()) {
    const parent = await apiGet(`/api/v1/admin/users/${id}`);
    if (parent.status !== 'deactivated') parents.push(parent);
  }
  assert.deepEqual(parents.map((p) => p.username).sort(), ['newparent', 'parent1']);

  // Loaded afresh, as an admin would, to see the new class (a hash the page is on already loads nothing).
  await page.goto(`${BASE}/admin#people`);
  await page.reload();
  await page.locator('#people-group option', { hasText: 'Class 5A' }).waitFor({ state: 'attached' });
  await page.selectOption('#people-group', { label: 'Class 5A' });
  await page.selectOption('#people-role', 'parent');
  await page.fill('#people-q', '');
  await page.click('#people-search button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#people-table tbody tr').length === 3);
  await page.locator('#people-group-note', { hasText: 'the parents of its students' }).waitFor();
  assert.match(await page.locator('#view-people .letters .warning').textContent(), /earlier codes .* stop working/s);

  // Someone is deactivated while the letters are asked for: the server refuses them all, and the page says why.
  const token = await page.evaluate(() => sessionStorage.getItem('hallway.admin.token'));
  const parent1 = parents.find((p) => p.username === 'parent1');
  const setActive = (active) => fetch(`${BASE}/api/v1/admin/users/${parent1.id}/${active ? 'reactivate' : 'deactivate'}`,
    { method: 'POST', headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(STEP_TIMEOUT) });
  await page.route('**/api/v1/admin/letters', async (route) => {
    assert.equal((await setActive(false)).status, 200);
    await route.continue();
  });
  await page.click('#letters-people');
  await page.locator('#letters-people-status.error', { hasText: 'No letters were made: user_ids: parent1 is deactivated' }).waitFor();
  await screenshot('class-letters-refused');
  await page.unroute('**/api/v1/admin/letters');
  assert.equal((await setActive(true)).status, 200);
  await page.click('#people-search button[type=submit]');
  await page.locator('#people-table tbody tr[data-username="parent1"] .status-active').waitFor();

  const letters = await downloadLetters('#letters-people', 'class-letters.pdf');
  // In the list's order (by name); each parent once, however many children they have in the class.
  const byName = (a, b) => a.display_name.localeCompare(b.display_name);
  checkLetters(letters, parents.sort(byName));
  await page.locator('#letters-people-status', { hasText: 'Downloaded hallway-letters.pdf: 2 letters.' }).waitFor();
  assert.match(await page.locator('#letters-people-status').textContent(), /1 deactivated person got no letter/);
  await screenshot('class-letters');
  const newparent = letters.find((l) => l.name === 'New Parent');
  const earlier = importLetters.find((l) => l.name === 'New Parent');
  assert.equal(await activate(earlier.code), 401, 'printing again ended the earlier letter\'s code');
  assert.equal(await activate(newparent.code), 200, "the new letter's code works");
});

test('usage and settings render', async () => {
  await page.goto(`${BASE}/admin#stats`);
  await page.locator('#chart-messages svg').waitFor();
  assert.ok(await page.locator('#chart-messages svg rect').count() >= 1, 'the demo group has messages');
  await screenshot('usage');
  await page.goto(`${BASE}/admin#settings`);
  await page.locator('#policy-table input[type=checkbox]').nth(15).waitFor();
  assert.equal(await page.locator('#policy-table input[type=checkbox]').count(), 16);
  assert.equal(await page.locator('#policy-table input[data-from=parent][data-to=parent]').isChecked(), false);
  await screenshot('settings');
});

test('the console works on a tablet and broke no rule of its CSP', async () => {
  await page.setViewportSize({ width: 768, height: 1024 });
  await page.goto(`${BASE}/admin#people`);
  await page.locator('#people-table tbody tr').first().waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px`);
  await screenshot('tablet');
  assert.deepEqual(page.problems, []);
});

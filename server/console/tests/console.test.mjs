// Drives the admin console in headless Chromium against a running `hallway-server serve --demo`
// (scripts/test-console starts it and sets HALLWAY_URL). Each step leaves a screenshot in HALLWAY_ARTIFACTS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// ES modules ignore NODE_PATH: resolve playwright-core from the cache directory the script installed it in.
const require = createRequire(join(process.env.NODE_PATH || join(process.cwd(), 'node_modules'), 'noop.js'));
const { chromium } = require('playwright-core');

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

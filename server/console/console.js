// The Hallway admin console: vanilla JavaScript over the public REST API only. The access token lives in
// sessionStorage (gone when the tab closes); nothing else is stored. Text from the server is always set with
// textContent, never parsed as HTML.
'use strict';

const TOKEN_KEY = 'hallway.admin.token';
const ROLES = ['admin', 'teacher', 'parent', 'student'];
const PAGE = 50;

const $ = (id) => document.getElementById(id);

/** Builds an element: h('td', {class: 'x'}, 'text', child). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function svg(tag, attrs = {}) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
  return el;
}

class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** Calls the API with the Bearer token; JSON in and out unless told otherwise. */
async function api(method, path, { body, raw, contentType } = {}) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = contentType || 'application/json';
    payload = contentType ? body : JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body: payload, cache: 'no-store' });
  if (response.ok && raw) return response;
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!response.ok) {
    const error = (json && json.error) || {};
    if (response.status === 401 && !path.startsWith('/api/v1/auth/')) {
      signOut('Your session has ended: sign in again.');
    }
    throw new ApiError(response.status, error.code || 'error', error.message || `HTTP ${response.status}`, json);
  }
  return json;
}

function flash(message, bad = false) {
  const el = $('flash');
  el.textContent = message;
  el.classList.toggle('bad', bad);
  el.hidden = false;
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => { el.hidden = true; }, 8000);
}

function failed(error) {
  flash(error instanceof ApiError ? error.message : `Something went wrong: ${error}`, true);
}

function when(ts) {
  if (!ts) return '—';
  const d = new Date(ts);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

// ---- Sign-in ----------------------------------------------------------------------------------------------

let me = null;

async function signIn(event) {
  event.preventDefault();
  const error = $('login-error');
  error.hidden = true;
  try {
    const tokens = await api('POST', '/api/v1/auth/login', {
      body: { login: $('login-name').value, password: $('login-password').value },
    });
    if (tokens.user.role !== 'admin') {
      // Not for them: end the session we just opened and say why.
      sessionStorage.setItem(TOKEN_KEY, tokens.access_token);
      await api('POST', '/api/v1/auth/logout', { body: { refresh_token: tokens.refresh_token } }).catch(() => {});
      sessionStorage.removeItem(TOKEN_KEY);
      error.textContent = `This console is for school admins only. ${tokens.user.display_name} is a ${tokens.user.role}: use the Hallway app instead.`;
      error.hidden = false;
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, tokens.access_token);
    $('login-password').value = '';
    await start();
  } catch (e) {
    error.textContent = e.code === 'rate_limited' ? e.message : e.code === 'account_deactivated'
      ? 'This account has been deactivated.' : 'Wrong username or password.';
    error.hidden = false;
  }
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  me = null;
  $('nav').hidden = true;
  $('whoami').hidden = true;
  show('login');
  if (message) flash(message, true);
}

async function start() {
  if (!sessionStorage.getItem(TOKEN_KEY)) return show('login');
  try {
    me = await api('GET', '/api/v1/me');
  } catch {
    return signOut();
  }
  if (me.role !== 'admin') return signOut('This console is for school admins only.');
  $('whoami-name').textContent = `${me.display_name} (${me.username})`;
  $('nav').hidden = false;
  $('whoami').hidden = false;
  route();
}

// ---- Views ------------------------------------------------------------------------------------------------

const loaders = {
  people: () => Promise.all([loadGroups(), loadPeople()]),
  import: () => {},
  audit: () => loadAudit(false),
  stats: () => loadStats(),
  settings: () => loadPolicy(),
};

function show(name) {
  for (const view of document.querySelectorAll('.view')) view.hidden = view.id !== `view-${name}`;
  for (const link of document.querySelectorAll('nav a')) link.classList.toggle('active', link.dataset.view === name);
}

function route() {
  if (!me) return show('login');
  const name = location.hash.slice(1) in loaders ? location.hash.slice(1) : 'people';
  show(name);
  Promise.resolve(loaders[name]()).catch(failed);
}

// ---- People -----------------------------------------------------------------------------------------------

let peopleOffset = 0;
let selected = null;

async function loadPeople() {
  const filters = new URLSearchParams();
  for (const [key, id] of [['q', 'people-q'], ['role', 'people-role'], ['status', 'people-status'], ['group', 'people-group']]) {
    if ($(id).value) filters.set(key, $(id).value);
  }
  const params = new URLSearchParams(filters);
  params.set('limit', PAGE);
  params.set('offset', peopleOffset);
  const page = await api('GET', `/api/v1/admin/users?${params}`);
  listedFilters = filters;
  const group = $('people-group');
  $('people-group-note').hidden = !group.value;
  $('people-group-note').textContent = group.value
    ? `${group.selectedOptions[0].textContent}: the people in the group, and the parents of its students.` : '';
  const body = $('people-table').tBodies[0];
  body.replaceChildren(...page.users.map(personRow));
  const last = Math.min(peopleOffset + page.users.length, page.total);
  $('people-count').textContent = page.total ? `${peopleOffset + 1}–${last} of ${page.total}` : 'Nobody matches.';
  $('people-prev').disabled = peopleOffset === 0;
  $('people-next').disabled = last >= page.total;
  if (selected) {
    const fresh = page.users.find((u) => u.id === selected.id);
    if (fresh) showDetail(fresh);
  }
}

/** Fills the class filter with the school's groups, keeping the one chosen. */
async function loadGroups() {
  const { groups } = await api('GET', '/api/v1/admin/groups');
  const select = $('people-group');
  const chosen = select.value;
  select.replaceChildren(h('option', { value: '' }, 'All classes'), ...groups.map((g) => h('option', { value: g.id }, g.name)));
  select.value = groups.some((g) => g.id === chosen) ? chosen : '';
}

function statusBadge(status) {
  return h('span', { class: `status status-${status}` }, status.replace('_', ' '));
}

function personRow(user) {
  const actions = h('td', { class: 'actions' });
  if (user.status === 'deactivated') {
    actions.append(h('button', { type: 'button', class: 'secondary', 'data-action': 'reactivate', onclick: () => setActive(user, true) }, 'Reactivate'));
  } else if (!me || user.id !== me.id) {
    actions.append(h('button', { type: 'button', class: 'danger', 'data-action': 'deactivate', onclick: () => setActive(user, false) }, 'Deactivate'));
  }
  actions.append(h('button', { type: 'button', class: 'secondary', 'data-action': 'reset', onclick: () => resetCode(user) }, 'New code'));
  actions.append(h('button', { type: 'button', class: 'secondary', 'data-action': 'details', onclick: () => showDetail(user) }, 'Details'));
  return h('tr', { 'data-username': user.username, class: selected && selected.id === user.id ? 'selected' : null },
    h('td', {}, user.display_name),
    h('td', {}, user.username),
    h('td', {}, user.role),
    h('td', {}, user.email || '—'),
    h('td', {}, statusBadge(user.status)),
    h('td', {}, when(user.last_seen_at)),
    actions);
}

async function setActive(user, active) {
  if (!active && !confirm(`Deactivate ${user.display_name}? They are signed out everywhere at once.`)) return;
  try {
    await api('POST', `/api/v1/admin/users/${user.id}/${active ? 'reactivate' : 'deactivate'}`);
    flash(`${user.display_name} is ${active ? 'active again' : 'deactivated'}.`);
    await loadPeople();
  } catch (e) { failed(e); }
}

function showCode(who, code) {
  $('code-who').textContent = who;
  $('code-value').textContent = code.code;
  $('code-expires').textContent = when(code.expires_at);
  $('code-box').hidden = false;
  $('detail').hidden = true;
}

async function resetCode(user) {
  if (!confirm(`Issue a new activation code for ${user.display_name}? Their earlier codes stop working; their password keeps working until they use the new code.`)) return;
  try {
    showCode(user.display_name, await api('POST', `/api/v1/admin/users/${user.id}/reset`));
  } catch (e) { failed(e); }
}

async function createPerson(event) {
  event.preventDefault();
  const form = event.target;
  const body = {
    username: form.username.value,
    display_name: form.display_name.value,
    role: form.role.value,
    email: form.email.value || null,
  };
  try {
    const created = await api('POST', '/api/v1/admin/users', { body });
    form.reset();
    showCode(created.user.display_name, created.activation);
    await loadPeople();
  } catch (e) { failed(e); }
}

function showDetail(user) {
  selected = user;
  $('code-box').hidden = true;
  $('detail').hidden = false;
  $('detail-name').textContent = user.display_name;
  $('detail-meta').textContent = `${user.username} · ${user.role} · joined ${when(user.created_at)}`;
  $('rename-input').value = user.display_name;
  $('role-input').value = user.role;
  const list = $('guardian-list');
  const isParent = user.role === 'parent';
  const links = isParent ? user.children : user.guardians;
  $('guardian-box').hidden = !(isParent || user.role === 'student');
  $('guardian-title').textContent = isParent ? 'Children' : 'Guardians';
  $('link-form').hidden = !isParent;
  list.replaceChildren(...links.map((other) => {
    const [parent, student] = isParent ? [user, other] : [other, user];
    return h('li', {}, `${other.display_name} (${other.username})`,
      h('button', { type: 'button', class: 'secondary', onclick: () => unlink(parent, student) }, 'Unlink'));
  }));
  if (!links.length) list.append(h('li', { class: 'muted' }, 'None yet.'));
  for (const row of $('people-table').tBodies[0].rows) row.classList.toggle('selected', row.dataset.username === user.username);
}

async function refreshSelected() {
  if (selected) showDetail(await api('GET', `/api/v1/admin/users/${selected.id}`));
  await loadPeople();
}

async function saveDetail(event) {
  event.preventDefault();
  try {
    const body = { display_name: $('rename-input').value, role: $('role-input').value };
    selected = await api('PATCH', `/api/v1/admin/users/${selected.id}`, { body });
    flash('Saved.');
    await refreshSelected();
  } catch (e) { failed(e); }
}

async function linkChild(event) {
  event.preventDefault();
  const username = $('link-student').value.trim();
  try {
    const found = await api('GET', `/api/v1/admin/users?${new URLSearchParams({ q: username, role: 'student', limit: 200 })}`);
    const student = found.users.find((u) => u.username.toLowerCase() === username.toLowerCase());
    if (!student) return flash(`No student has the username ${username}.`, true);
    await api('POST', `/api/v1/admin/users/${selected.id}/children`, { body: { student_id: student.id } });
    $('link-student').value = '';
    await refreshSelected();
  } catch (e) { failed(e); }
}

async function unlink(parent, student) {
  try {
    await api('DELETE', `/api/v1/admin/users/${parent.id}/children/${student.id}`);
    await refreshSelected();
  } catch (e) { failed(e); }
}

// ---- Import -----------------------------------------------------------------------------------------------

async function runImport(dryRun) {
  const file = $('import-file').files[0];
  if (!file) return flash('Choose a CSV file first.', true);
  $('import-report').hidden = true;
  $('import-result').hidden = true;
  const path = `/api/v1/admin/import${dryRun ? '?dry_run=true' : ''}`;
  try {
    if (dryRun) {
      showReport(await api('POST', path, { body: file, contentType: 'text/csv' }));
      return;
    }
    const response = await api('POST', path, { body: file, contentType: 'text/csv', raw: true });
    const csv = await response.text();
    showCodes(csv);
  } catch (e) {
    if (e.body && e.body.report) showReport(e.body.report, true);
    else failed(e);
  }
}

function showReport(report, refused = false) {
  $('import-report').hidden = false;
  const counts = ROLES.map((r) => `${report.by_role[r]} ${r}${report.by_role[r] === 1 ? '' : 's'}`).join(', ');
  $('import-summary').textContent = report.valid
    ? `The file is ready: ${report.rows} people (${counts}) and ${report.guardianships} guardian links. Press Import to add them.`
    : `${refused ? 'Nothing was imported. ' : ''}The file has ${report.problems.length} problem(s) in ${report.rows} lines: fix them and check again.`;
  $('import-summary').className = report.valid ? '' : 'error';
  $('import-problems').hidden = report.valid;
  $('import-problems').tBodies[0].replaceChildren(...report.problems.map((p) =>
    h('tr', {}, h('td', {}, p.line), h('td', {}, p.field || ''), h('td', {}, p.message))));
}

function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

let downloadUrl = null;

function showCodes(csv) {
  const rows = parseCsv(csv).slice(1);
  importedUsernames = rows.map((r) => r[0]);
  $('letters-import-status').hidden = true;
  $('import-result').hidden = false;
  $('import-done').textContent = `Imported ${rows.length} people.`;
  if (downloadUrl) URL.revokeObjectURL(downloadUrl);
  downloadUrl = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
  $('import-download').href = downloadUrl;
  $('import-codes').tBodies[0].replaceChildren(...rows.map((r) => h('tr', {}, r.map((cell) => h('td', {}, cell)))));
  flash(`Imported ${rows.length} people.`);
}

// ---- Invitation letters ----------------------------------------------------------------------------------

/** The most people one `POST /admin/letters` takes. */
const MAX_LETTERS = 5000;
/** The people list's filters as last loaded: "everyone listed" is everyone they match, on every page. */
let listedFilters = new URLSearchParams();
/** The usernames of the last import, in the file's order. */
let importedUsernames = [];
/** The object URL of the last letters downloaded, revoked when the next are made. */
let lettersUrl = null;

function count(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

function letterStatus(el, text, bad = false) {
  el.textContent = text;
  el.className = bad ? 'error' : 'muted';
  el.hidden = false;
}

/** Everyone `filters` match, page after page; refuses early when they are more than `max`. */
async function everyone(filters, progress, max = Infinity) {
  const people = new Map();
  for (let offset = 0; ; offset += 200) {
    const params = new URLSearchParams(filters);
    params.set('limit', 200);
    params.set('offset', offset);
    const page = await api('GET', `/api/v1/admin/users?${params}`);
    if (page.total > max) throw new Error(`the list holds ${page.total} people, and letters are made for at most ${max} at a time: choose a class or a role first`);
    for (const user of page.users) people.set(user.id, user);
    progress(people.size, page.total);
    if (!page.users.length || offset + page.users.length >= page.total) return [...people.values()];
  }
}

/** Everyone the people list shows, on every page, but the deactivated (who get no letter). */
async function listedPeople(status) {
  const all = await everyone(listedFilters, (n, total) => letterStatus(status, `Finding everyone listed: ${n} of ${total}…`), MAX_LETTERS);
  const people = all.filter((p) => p.status !== 'deactivated');
  const left = all.length - people.length;
  return { people, notes: left ? [`${count(left, 'deactivated person', 'deactivated people')} got no letter.`] : [] };
}

/** The people of the last import who have not activated yet, in the file's order. */
async function importedPeople(status) {
  const order = new Map(importedUsernames.map((u, i) => [u.toLowerCase(), i]));
  const waiting = await everyone(new URLSearchParams({ status: 'not_activated' }),
    (n, total) => letterStatus(status, `Finding the people imported: ${n} of ${total} not yet activated…`));
  const key = (p) => order.get(p.username.toLowerCase());
  const people = waiting.filter((p) => order.has(p.username.toLowerCase())).sort((a, b) => key(a) - key(b));
  const missing = importedUsernames.length - people.length;
  return { people, notes: missing ? [`${count(missing, 'person', 'people')} of the import already chose a password or was deactivated: no letter for them.`] : [] };
}

/** Saves a Blob as a file through a passing link: the letters need the Bearer header, which a plain link cannot send. */
function saveFile(blob, name) {
  if (lettersUrl) URL.revokeObjectURL(lettersUrl);
  lettersUrl = URL.createObjectURL(blob);
  const link = h('a', { href: lettersUrl, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
}

/** Finds the people with `collect`, asks, then makes their letters and downloads them as hallway-letters.pdf. */
async function printLetters(button, status, collect) {
  button.disabled = true;
  try {
    const { people, notes } = await collect(status);
    if (!people.length) return letterStatus(status, ['Nobody to print a letter for.', ...notes].join(' '), true);
    if (people.length > MAX_LETTERS) throw new Error(`at most ${MAX_LETTERS} letters at a time: choose a class or a role first`);
    const who = people.length === 1 ? people[0].display_name : count(people.length, 'person', 'people');
    if (!confirm(`Print letters for ${who}? Each letter carries a new activation code: the earlier codes of ${people.length === 1 ? 'this person' : 'these people'} stop working at once.`)) {
      status.hidden = true;
      return;
    }
    letterStatus(status, `Making ${count(people.length, 'letter')}, each with a new code…`);
    const response = await api('POST', '/api/v1/admin/letters', { body: { user_ids: people.map((p) => p.id) }, raw: true });
    saveFile(await response.blob(), 'hallway-letters.pdf');
    letterStatus(status, [`Downloaded hallway-letters.pdf: ${count(people.length, 'letter')}. Only the codes on these letters work now.`, ...notes].join(' '));
  } catch (e) {
    letterStatus(status, `No letters were made: ${e.message}`, true);
  } finally {
    button.disabled = false;
  }
}

// ---- Audit log --------------------------------------------------------------------------------------------

let auditBefore = null;

async function loadAudit(more) {
  const params = new URLSearchParams({ limit: PAGE });
  for (const key of ['actor', 'action', 'from', 'to']) {
    const value = $(`audit-${key}`).value.trim();
    if (value) params.set(key, value);
  }
  if (more && auditBefore) params.set('before_id', auditBefore);
  const page = await api('GET', `/api/v1/admin/audit?${params}`);
  const rows = page.entries.map((e) => h('tr', { 'data-action': e.action },
    h('td', {}, when(e.at)),
    h('td', {}, e.actor_username || (e.actor_id ? e.actor_id : 'server')),
    h('td', {}, e.action),
    h('td', {}, e.target || ''),
    h('td', {}, e.address || ''),
    h('td', { class: 'muted' }, Object.keys(e.details || {}).length ? JSON.stringify(e.details) : '')));
  const body = $('audit-table').tBodies[0];
  if (more) body.append(...rows); else body.replaceChildren(...rows);
  if (!body.rows.length) body.append(h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No entries match.')));
  auditBefore = page.next_before_id;
  $('audit-more').hidden = !auditBefore;
}

// ---- Usage ------------------------------------------------------------------------------------------------

async function loadStats() {
  const stats = await api('GET', `/api/v1/admin/stats?days=${$('stats-days').value}`);
  chart($('chart-messages'), stats.days, 'messages');
  chart($('chart-active'), stats.days, 'active_users');
  $('stats-legend').replaceChildren(...ROLES.map((r) => h('span', {}, h('span', { class: `swatch swatch-${r}` }), r)));
}

/** A stacked bar per day (by role), drawn as inline SVG. */
function chart(container, days, key) {
  const width = 900, height = 200, left = 36, bottom = 20, top = 8;
  const max = Math.max(1, ...days.map((d) => d[key].total));
  const slot = (width - left) / days.length;
  const scale = (height - bottom - top) / max;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': key.replace('_', ' ') });
  root.append(svg('line', { x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: 'axis' }));
  for (const value of [0, max]) {
    const label = svg('text', { x: 2, y: height - bottom - value * scale + 4, class: 'axis-label' });
    label.textContent = value;
    root.append(label);
  }
  days.forEach((day, i) => {
    let y = height - bottom;
    for (const role of ROLES) {
      const h = day[key][role] * scale;
      if (h > 0) {
        y -= h;
        const rect = svg('rect', { x: left + i * slot + slot * 0.1, y, width: Math.max(1, slot * 0.8), height: h, class: `bar-${role}` });
        const title = svg('title');
        title.textContent = `${day.date}: ${day[key][role]} ${role}`;
        rect.append(title);
        root.append(rect);
      }
    }
  });
  for (const i of [0, Math.floor(days.length / 2), days.length - 1]) {
    const label = svg('text', { x: Math.min(left + i * slot, width - 70), y: height - 4, class: 'axis-label' });
    label.textContent = days[i].date;
    root.append(label);
  }
  container.replaceChildren(root);
}

// ---- Settings ---------------------------------------------------------------------------------------------

async function loadPolicy() {
  const table = await api('GET', '/api/v1/admin/policy');
  const allowed = (from, to) => table.rules.find((r) => r.from === from && r.to === to).allowed;
  $('policy-table').replaceChildren(
    h('thead', {}, h('tr', {}, h('th', {}, 'from \\ to'), ROLES.map((r) => h('th', { scope: 'col' }, r)))),
    h('tbody', {}, ROLES.map((from) => h('tr', {}, h('th', { scope: 'row' }, from), ROLES.map((to) => h('td', {},
      h('input', { type: 'checkbox', 'data-from': from, 'data-to': to, checked: allowed(from, to), disabled: from === 'admin',
        'aria-label': `${from} may start a chat with ${to}` })))))));
}

async function savePolicy() {
  const rules = [...$('policy-table').querySelectorAll('input[data-from]')]
    .filter((box) => box.dataset.from !== 'admin')
    .map((box) => ({ from: box.dataset.from, to: box.dataset.to, allowed: box.checked }));
  try {
    await api('PUT', '/api/v1/admin/policy', { body: { rules } });
    flash('The rules are saved and apply at once.');
    await loadPolicy();
  } catch (e) { failed(e); }
}

// ---- Wiring -----------------------------------------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', () => signOut());
  $('people-search').addEventListener('submit', (e) => { e.preventDefault(); peopleOffset = 0; loadPeople().catch(failed); });
  $('people-prev').addEventListener('click', () => { peopleOffset = Math.max(0, peopleOffset - PAGE); loadPeople().catch(failed); });
  $('people-next').addEventListener('click', () => { peopleOffset += PAGE; loadPeople().catch(failed); });
  $('create-form').addEventListener('submit', createPerson);
  $('code-dismiss').addEventListener('click', () => { $('code-box').hidden = true; });
  $('rename-form').addEventListener('submit', saveDetail);
  $('link-form').addEventListener('submit', linkChild);
  $('import-check').addEventListener('click', () => runImport(true));
  $('import-run').addEventListener('click', () => runImport(false));
  $('letters-people').addEventListener('click', () => printLetters($('letters-people'), $('letters-people-status'), listedPeople));
  $('letters-import').addEventListener('click', () => printLetters($('letters-import'), $('letters-import-status'), importedPeople));
  $('audit-form').addEventListener('submit', (e) => { e.preventDefault(); loadAudit(false).catch(failed); });
  $('audit-more').addEventListener('click', () => loadAudit(true).catch(failed));
  $('stats-days').addEventListener('change', () => loadStats().catch(failed));
  $('policy-save').addEventListener('click', savePolicy);
  window.addEventListener('hashchange', route);
  start();
});

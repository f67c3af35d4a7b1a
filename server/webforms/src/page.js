// The /f/{projectId}/{xmlFormId} page: ODK Web Forms over the same OpenRosa routes Collect uses.
// An app user's key comes after '#' (never sent to the server in the page request, so never in
// its log) and is kept in this browser's IndexedDB; every request then goes to /v1/key/{key}/...
// Finished forms wait in an IndexedDB outbox keyed by instanceID and are sent, one multipart POST
// each, when the connection allows, and only under the credential they were filled under. What
// is stored is wiped when the server refuses the key itself (the form list refused, not one
// form), after the configured time, or with the "clear" button (and on logout, by the server's
// Clear-Site-Data header); a web user's ended session drops the cached lists and keeps the
// finished forms for after the next login.
import { createApp, h, reactive } from 'vue';
import { OdkWebForm, POST_SUBMIT__NEW_INSTANCE, webFormsPlugin } from '@getodk/web-forms';

const config = JSON.parse(document.getElementById('dh-config').textContent);
const t = config.strings;
const CACHE = 'dh-f-v1';
const DB = 'dh-f';

// ---- IndexedDB: two stores, the outbox (by instanceID) and small facts (the key, when saved).
function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore('outbox', { keyPath: 'instanceID' });
      req.result.createObjectStore('meta', { keyPath: 'id' });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}
async function tx(store, mode, work) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(store, mode);
    const result = work(transaction.objectStore(store));
    transaction.oncomplete = () => { db.close(); resolve(result && 'result' in result ? result.result : undefined); };
    transaction.onerror = () => { db.close(); reject(transaction.error); };
  });
}
const outboxAll = () => tx('outbox', 'readonly', (s) => s.getAll());
const outboxPut = (row) => tx('outbox', 'readwrite', (s) => s.put(row));
const outboxDelete = (id) => tx('outbox', 'readwrite', (s) => s.delete(id));
const metaGet = (id) => tx('meta', 'readonly', (s) => s.get(id));
const metaPut = (row) => tx('meta', 'readwrite', (s) => s.put(row));

async function wipe() {
  await new Promise((resolve) => {
    const req = indexedDB.deleteDatabase(DB);
    req.onsuccess = req.onerror = req.onblocked = () => resolve();
  });
  for (const name of await caches.keys()) await caches.delete(name);
}

// ---- State shown on the page.
const state = reactive({ waiting: 0, online: navigator.onLine, message: '', error: '', formXml: null, revoked: false });

// Whose forms these are: a hash of the key, or the web user. A form is sent only with the
// credential it was filled under, never under the next person's.
let owner = null;
async function hashOf(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
const mine = (rows) => rows.filter((r) => r.projectId === config.projectId && r.owner === owner);

async function countWaiting() {
  state.waiting = mine(await outboxAll()).length;
}

// ---- The key and the base URL of the OpenRosa routes.
async function findKey() {
  const found = /(?:^|&)key=([^&]*)/.exec(location.hash.slice(1));
  const fromHash = found ? decodeURIComponent(found[1]) : null;
  const id = `key:${config.projectId}`;
  if (fromHash) {
    await metaPut({ id, key: fromHash, savedAt: Date.now() });
    history.replaceState(null, '', location.pathname + location.search); // not in the history
    return fromHash;
  }
  if (config.session) return null; // a logged-in web user's page uses its session
  const saved = await metaGet(id);
  return saved ? saved.key : null;
}

async function sessionStart() {
  const id = `session:${config.projectId}`;
  if (!(await metaGet(id))) await metaPut({ id, savedAt: Date.now() });
}

async function expireOld() {
  const limit = config.offlineHours * 3600 * 1000;
  for (const id of [`key:${config.projectId}`, `session:${config.projectId}`]) {
    const saved = await metaGet(id);
    if (saved && Date.now() - saved.savedAt > limit) { await wipe(); return; }
  }
}

class Refused extends Error {}

let viaSession = false;
async function request(url, init = {}) {
  const headers = { 'X-OpenRosa-Version': '1.0', ...(init.headers || {}) };
  if (viaSession) headers[config.sessionHeader] = '1';
  const response = await fetch(url, { ...init, credentials: 'same-origin', headers });
  if (response.status === 401 || response.status === 403) throw new Refused(String(response.status));
  return response;
}

// Network first; what the server gave is kept in the cache for the next time without a network.
async function cachedGet(url) {
  const cache = await caches.open(CACHE);
  try {
    const response = await request(url);
    if (response.ok) await cache.put(url, response.clone());
    return response;
  } catch (error) {
    if (error instanceof Refused) throw error;
    const kept = await cache.match(url);
    if (kept) return kept;
    throw error;
  }
}

async function refused() {
  state.formXml = null;
  if (viaSession) {
    // The web session ended (idle, or logged out elsewhere): the lists go at once, the finished
    // forms stay to be sent after the user logs in again (they are this user's only).
    for (const name of await caches.keys()) await caches.delete(name);
    state.error = t.loginAgain;
    return;
  }
  await wipe();
  state.revoked = true;
  state.waiting = 0;
  state.error = t.revoked;
}

// A refused submission is either the credential refused (revoked key, ended session: the
// form list is refused too) or this one form refused (outside the caller's wards, a form no
// longer assigned): only the first empties what the browser keeps.
async function credentialRefused(base) {
  try {
    await request(`${base}/formList`);
    return false;
  } catch (error) {
    return error instanceof Refused;
  }
}

// ---- Sending the outbox: one multipart POST per finished form, oldest first.
let sending = false;
async function sendWaiting(base) {
  if (sending) return;
  sending = true;
  try {
    const rows = mine(await outboxAll());
    rows.sort((a, b) => a.savedAt - b.savedAt);
    let notAccepted = 0;
    for (const row of rows) {
      const body = new FormData();
      for (const [name, blob, filename] of row.parts) body.append(name, blob, filename);
      let response;
      try {
        response = await request(`${base}/submission`, { method: 'POST', body });
      } catch (error) {
        if (!(error instanceof Refused)) {
          state.online = false;
          break; // no network: try again when it returns
        }
        if (await credentialRefused(base)) { await refused(); return; }
        notAccepted += 1; // kept, and the next forms are still sent
        state.error = `${t.notAccepted} (${error.message})`;
        continue;
      }
      if (response.status === 201 || response.status === 200) {
        await outboxDelete(row.instanceID);
        state.message = t.sent;
      } else {
        notAccepted += 1;
        state.error = `${t.notAccepted} (${response.status})`;
      }
    }
    if (!notAccepted && state.message === t.sent) state.error = '';
  } finally {
    sending = false;
    if (!state.revoked) await countWaiting();
  }
}

async function keep(payload) {
  const parts = [];
  let instanceID = null;
  for (const [name, file] of payload.data[0].entries()) {
    parts.push([name, file, file.name]);
    if (name === 'xml_submission_file') {
      const xml = await file.text();
      const found = /<instanceID>([^<]+)<\/instanceID>/.exec(xml);
      instanceID = found ? found[1] : null;
    }
  }
  if (!instanceID) throw new Error('no instanceID');
  await outboxPut({
    instanceID, projectId: config.projectId, formId: config.formId, owner, parts, savedAt: Date.now(),
  });
}

// ---- The page.
function Banner() {
  const lines = [];
  if (state.error) lines.push(h('p', { class: 'dh-error', role: 'alert' }, state.error));
  if (state.message) lines.push(h('p', { class: 'dh-ok', role: 'status' }, state.message));
  lines.push(h('p', { class: 'dh-waiting', 'data-waiting': String(state.waiting) },
    state.waiting ? t.waiting.replace('%(n)s', String(state.waiting)) : t.noneWaiting));
  if (!state.online) lines.push(h('p', { class: 'dh-offline' }, t.offline));
  return h('div', { class: 'dh-status' }, lines);
}

async function main() {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register(config.workerUrl, { scope: '/f/' }).catch(() => {});
  }
  await expireOld();
  const key = await findKey();
  let base = null;
  if (key) {
    base = `/v1/key/${encodeURIComponent(key)}/projects/${config.projectId}`;
    owner = `key:${await hashOf(key)}`;
  } else if (config.session) {
    viaSession = true;
    await sessionStart();
    base = `/v1/projects/${config.projectId}`;
    owner = `user:${config.actorId}`;
  } else state.error = t.noKey;
  await countWaiting();

  const app = createApp({
    render() {
      const children = [h(Banner)];
      if (state.formXml) {
        children.push(h(OdkWebForm, {
          formXml: state.formXml,
          fetchFormAttachment: (url) => fetchAttachment(url),
          missingResourceBehavior: 'BLANK',
          onSubmit: (payload, callback) => {
            keep(payload).then(async () => {
              await countWaiting();
              state.message = t.saved;
              callback({ next: POST_SUBMIT__NEW_INSTANCE });
              sendWaiting(base);
            }, (error) => { state.error = `${t.notSaved}: ${error.message}`; });
          },
        }));
      }
      children.push(h('p', { class: 'dh-note' }, t.personal));
      children.push(h('button', { type: 'button', class: 'dh-clear', onClick: async () => { await wipe(); location.replace(location.pathname); } }, t.clear));
      return h('div', { class: 'dh-page' }, children);
    },
  });
  app.use(webFormsPlugin);
  // Dates as Vietnamese users write them (dd/mm/yyyy), not PrimeVue's mm/dd/yy: on 1
  // December its box would read 12/01, which here means 12 January.
  Object.assign(app.config.globalProperties.$primevue.config.locale, config.calendar);
  app.mount('#dh-app');
  if (!base) return;

  // Keep the page itself for offline use (the service worker serves it from here).
  caches.open(CACHE).then((c) => c.add(location.pathname)).catch(() => {});

  let media = {};
  async function fetchAttachment(url) {
    const name = String(url).split('/').pop();
    const target = media[name];
    if (!target) return new Response('', { status: 404 });
    return cachedGet(target);
  }
  try {
    const manifest = await cachedGet(`${base}/forms/${encodeURIComponent(config.formId)}/manifest`);
    const doc = new DOMParser().parseFromString(await manifest.text(), 'text/xml');
    for (const file of doc.getElementsByTagName('mediaFile')) {
      const filename = file.getElementsByTagName('filename')[0]?.textContent;
      const download = file.getElementsByTagName('downloadUrl')[0]?.textContent;
      if (filename && download) {
        const u = new URL(download, location.href);
        media[filename] = u.pathname + u.search;
      }
    }
    const form = await cachedGet(`${base}/forms/${encodeURIComponent(config.formId)}.xml`);
    if (!form.ok) { state.error = `${t.noForm} (${form.status})`; return; }
    // Every list now in the cache, so that the form opens without a network next time.
    await Promise.all(Object.values(media).map((u) => cachedGet(u).catch(() => null)));
    state.formXml = await form.text();
  } catch (error) {
    if (error instanceof Refused) { await refused(); return; }
    state.error = t.noNetwork;
  }
  window.addEventListener('online', () => { state.online = true; sendWaiting(base); });
  window.addEventListener('offline', () => { state.online = false; });
  sendWaiting(base);
}

main();

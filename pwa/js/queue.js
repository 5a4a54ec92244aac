/* The offline diary queue (issue 12): days saved without a connection wait on the device,
 * encrypted, until they can be sent. Shared by the page script (pwa.js) and the service worker.
 *
 * Storage: IndexedDB "diary-offline".
 *   meta:  "key"   -> an AES-GCM CryptoKey made with extractable=false, so its bytes can never
 *                     be read back by any script (WebCrypto; IndexedDB stores the key object).
 *          "owner" -> an opaque tag of the account whose pages were last open here (a keyed
 *                     hash: no name, no e-mail, no id).
 *   queue: {id, owner, created, state, iv, data}: everything typed (date, answers, labels, the
 *          form's idempotency key, the CSRF token) is in `data`, AES-GCM encrypted with the
 *          record id and owner as associated data; only those, the time it was queued and its
 *          state are in clear. Only the current owner's days are listed and sent, so a day
 *          queued by one person is never shown to, or sent into the diary of, another person
 *          on a shared device; it waits for its owner to sign in again.
 * Every day is sent exactly once: the server remembers the idempotency key (docs/diary_day.md),
 * so a send whose answer was lost is simply answered "duplicate" the next time.
 */

import { gettext, interpolate } from "./i18n.js";

const DB_NAME = "diary-offline";
const DB_VERSION = 1;
const AAD_PREFIX = "diary-offline-queue:v1:";
export const LOCK_NAME = "diary-offline-queue";
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const SEND_TIMEOUT_MS = 30000;
const PATH_RE = /^\/diary\/day\/\d{4}-\d{2}-\d{2}\/$/;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains("meta")) db.createObjectStore("meta");
      if (!db.objectStoreNames.contains("queue")) db.createObjectStore("queue", { keyPath: "id" });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error(gettext("the offline store is open elsewhere")));
  });
}

async function withStore(name, mode, fn) {
  const db = await openDb();
  try {
    const tx = db.transaction(name, mode);
    const done = new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
    const result = await fn(tx.objectStore(name));
    await done;
    return result;
  } finally {
    db.close();
  }
}

const getMeta = (key) => withStore("meta", "readonly", (s) => request(s.get(key)));

async function cryptoKey() {
  const existing = await getMeta("key");
  if (existing) return existing;
  const made = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
    "encrypt",
    "decrypt",
  ]);
  try {
    // add, not put: if another tab made a key at the same moment, theirs wins and we use it.
    await withStore("meta", "readwrite", (s) => request(s.add(made, "key")));
    return made;
  } catch (err) {
    return getMeta("key");
  }
}

const aad = (id, ownerTag) => new TextEncoder().encode(`${AAD_PREFIX}${id}:${ownerTag || ""}`);

async function seal(id, ownerTag, value) {
  const key = await cryptoKey();
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = new TextEncoder().encode(JSON.stringify(value));
  const additionalData = aad(id, ownerTag);
  const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData }, key, plain);
  return { iv, data };
}

async function open(stored) {
  const key = await getMeta("key");
  if (!key) throw new Error(gettext("the key that encrypted this entry is gone"));
  const additionalData = aad(stored.id, stored.owner);
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: stored.iv, additionalData },
    key,
    stored.data,
  );
  return JSON.parse(new TextDecoder().decode(plain));
}

/** What a queued day must look like before it is sent; a list of problems (empty = fine). */
export function problems(entry) {
  const found = [];
  if (!entry || typeof entry !== "object") return [gettext("it is not a diary entry")];
  if (typeof entry.date !== "string" || !DATE_RE.test(entry.date)) found.push(gettext("its date is missing or malformed"));
  if (typeof entry.action !== "string" || !PATH_RE.test(entry.action)) found.push(gettext("it does not name a diary day"));
  else if (entry.date && !entry.action.includes(entry.date)) found.push(gettext("its date does not match its day"));
  if (!Array.isArray(entry.fields) || !entry.fields.every((f) => Array.isArray(f) && f.length === 2 && f.every((x) => typeof x === "string"))) {
    found.push(gettext("its answers are malformed"));
  }
  if (typeof entry.idempotency_key !== "string" || !entry.idempotency_key || entry.idempotency_key.length > 64) {
    found.push(gettext("its save key is missing"));
  }
  return found;
}

/** Queue a day. A day already waiting (not yet sent) is replaced, keeping its base version, so a
 *  second offline edit of the same day does not conflict with the first. */
export async function enqueue(entry) {
  const bad = problems(entry);
  if (bad.length) throw new Error(interpolate(gettext("not queued: %(problems)s"), { problems: bad.join(", ") }));
  const waiting = (await list()).filter((item) => item.entry && item.entry.date === entry.date && item.state === "pending");
  let base = entry;
  if (waiting.length) base = { ...entry, base_version: waiting[0].entry.base_version };
  const id = crypto.randomUUID();
  const ownerTag = (await owner()) || "";
  const sealed = await seal(id, ownerTag, base);
  const stored = { id, owner: ownerTag, created: Date.now(), state: "pending", ...sealed };
  await withStore("queue", "readwrite", (s) => {
    for (const item of waiting) s.delete(item.id);
    return request(s.put(stored));
  });
  return id;
}

/** Every queued record, oldest first, opened: {id, created, state, entry} or, for one that cannot
 *  be decrypted or read, {id, created, state, entry: null, error}. Nothing unreadable is deleted. */
async function ownRecords() {
  const ownerTag = (await owner()) || "";
  const stored = await withStore("queue", "readonly", (s) => request(s.getAll()));
  // A record with no owner at all is damaged: it is shown (as unreadable), never sent.
  return stored.filter((item) => item.owner === ownerTag || typeof item.owner !== "string");
}

export async function list() {
  const stored = await ownRecords();
  stored.sort((a, b) => (a.created || 0) - (b.created || 0));
  const out = [];
  for (const item of stored) {
    try {
      if (!item.iv || !item.data) throw new Error(gettext("it has no encrypted content"));
      const entry = await open(item);
      const bad = problems(entry);
      if (bad.length) out.push({ id: item.id, created: item.created, state: item.state, entry: null, error: bad.join(", ") });
      else out.push({ id: item.id, created: item.created, state: item.state, entry });
    } catch (err) {
      out.push({ id: item.id, created: item.created, state: item.state, entry: null, error: "it could not be decrypted or read" });
    }
  }
  return out;
}

/** Replace a record's content and state (a conflict's server version, a refusal's messages). */
export async function update(id, state, entry) {
  const current = await withStore("queue", "readonly", (s) => request(s.get(id)));
  if (!current) return;
  const sealed = await seal(id, current.owner, entry);
  await withStore("queue", "readwrite", async (s) => {
    if (await request(s.get(id))) await request(s.put({ ...current, state, ...sealed }));
  });
}

export async function remove(id) {
  await withStore("queue", "readwrite", (s) => request(s.delete(id)));
}

export async function count() {
  return (await ownRecords()).length;
}

export async function owner() {
  return getMeta("owner");
}

export async function setOwner(tag) {
  await withStore("meta", "readwrite", (s) => request(s.put(tag, "owner")));
}

/** The diary pages kept for offline use: removed on sign-out and when another account's pages
 *  open on this device (they show the previous person's answers and medicines). */
export async function clearPages() {
  if (typeof caches === "undefined") return;
  const names = await caches.keys();
  await Promise.all(names.filter((n) => n.startsWith(PAGES_CACHE)).map((n) => caches.delete(n)));
}

/** Sign-out: the current owner's days and the kept pages go; with no one else's days left, the
 *  whole store (the key included) goes too. */
export async function clearOwn() {
  const mine = await ownRecords();
  await withStore("queue", "readwrite", (s) => Promise.all(mine.map((item) => request(s.delete(item.id)))));
  const left = await withStore("queue", "readonly", (s) => request(s.count()));
  if (!left) {
    await new Promise((resolve) => {
      const req = indexedDB.deleteDatabase(DB_NAME);
      req.onsuccess = req.onerror = req.onblocked = () => resolve();
    });
  } else {
    await withStore("meta", "readwrite", (s) => request(s.delete("owner")));
  }
  await clearPages();
}

/** The cache holding the day pages a patient opened (never other pages). */
export const PAGES_CACHE = "diary-pages";

/** Run fn holding the queue's lock (Web Locks), so two tabs or a tab and the service worker never
 *  send at once; a second sender waits, then finds only what is still waiting. */
export async function exclusively(fn) {
  const locks = typeof navigator !== "undefined" && navigator.locks;
  if (!locks) return fn();
  return locks.request(LOCK_NAME, () => fn());
}

function body(entry, csrf) {
  const params = new URLSearchParams();
  for (const [name, value] of entry.fields) {
    if (name !== "csrfmiddlewaretoken" && name !== "idempotency_key" && name !== "base_version") params.append(name, value);
  }
  params.set("idempotency_key", entry.idempotency_key);
  // No base version (a day opened while nothing was stored) still checks: the empty value means
  // "I saw nothing stored", so a day saved elsewhere meanwhile answers 409, not an overwrite.
  params.set("base_version", entry.base_version || "");
  if (csrf) params.set("csrfmiddlewaretoken", csrf);
  return params;
}

/** Send one queued day. Returns what happened: "saved", "duplicate", "conflict", "invalid",
 *  "signin" (the session has ended), "offline" or "retry" (any other answer); the record is
 *  removed only after the server confirms it holds the day. */
export async function sendOne(item, csrf) {
  const token = csrf || item.entry.csrf || "";
  let response;
  // A connection that hangs (a tunnel) must not hold the queue's lock for ever.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), SEND_TIMEOUT_MS);
  try {
    response = await fetch(item.entry.action, {
      signal: abort.signal,
      method: "POST",
      body: body(item.entry, token),
      headers: { Accept: "application/json", "X-CSRFToken": token },
      credentials: "same-origin",
      redirect: "manual",
      cache: "no-store",
    });
  } catch (err) {
    return { outcome: "offline" };
  } finally {
    clearTimeout(timer);
  }
  // A redirect (to the sign-in page) or a refusal (a CSRF token from an ended session): the
  // day waits for the patient to sign in again.
  if (response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400) || response.status === 401 || response.status === 403) {
    return { outcome: "signin" };
  }
  let answer = null;
  if ((response.headers.get("Content-Type") || "").includes("application/json")) {
    try { answer = await response.json(); } catch (err) { answer = null; }
  }
  if (response.ok && answer && (answer.status === "saved" || answer.status === "duplicate")) {
    await remove(item.id);
    return { outcome: answer.status, answer };
  }
  if (response.status === 409 && answer && answer.status === "conflict") {
    await update(item.id, "conflict", { ...item.entry, server: answer.server, server_version: answer.server_version });
    return { outcome: "conflict", answer };
  }
  if (response.status === 400 && answer && answer.status === "invalid") {
    await update(item.id, "invalid", { ...item.entry, errors: answer.errors });
    return { outcome: "invalid", answer };
  }
  return { outcome: "retry", status: response.status };
}

/** Send every waiting day, oldest first; stops at the first sign of no connection or no session. */
export async function flush(csrf) {
  return exclusively(async () => {
    const results = [];
    for (const item of await list()) {
      if (!item.entry || item.state !== "pending") continue;
      const result = await sendOne(item, csrf);
      results.push({ id: item.id, date: item.entry.date, ...result });
      if (["offline", "signin", "retry"].includes(result.outcome)) break;
    }
    return results;
  });
}

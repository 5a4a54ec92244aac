/* The page script of the installable app (issue 12), built into static/pwa/pwa.js.
 *
 * - Registers the service worker (/sw.js).
 * - The day form, submitted with no connection, is queued on this device (encrypted, see
 *   queue.js) instead of being lost; the queue is sent when the connection returns (the online
 *   event, every page load, Background Sync where the browser has it), exactly once.
 * - A queued day the server refuses (400) or that was changed elsewhere meanwhile (409) waits
 *   for the patient's decision here; nothing queued is ever dropped without them choosing so.
 * - Signing out removes the queue, its key and the kept pages. Another account signing in on
 *   this device neither sees nor sends a day queued by someone else (it waits for its owner),
 *   and the pages kept for the previous person are removed.
 * Text is set with textContent only (no HTML from data), and no inline style (the CSP); every
 * word shown is translated (i18n.js, the djangojs catalogue), English where the catalogue is absent.
 */
import { gettext, interpolate, ngettext, pageLocale } from "./i18n.js";
import { clearOwn, clearPages, count, enqueue, flush, list, owner, remove, setOwner, update } from "./queue.js";

const script = document.getElementById("pwa-script");
const USER = (script && script.dataset.user) || "";
const IS_PATIENT = script && script.dataset.patient === "1";
const OFFLINE_PAGE = script && script.dataset.offlinePage === "1";
const LOGOUT = (script && script.dataset.logout) || "/accounts/logout/";
const SYNC_TAG = "diary-queue";

let lastOutcome = null;
let announcement = "";
let sentDates = [];

function csrfCookie() {
  const match = document.cookie.match(/(?:^|;\s*)(?:__Secure-)?csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function newKey() {
  return crypto.randomUUID();
}

function niceDay(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  const date = new Date(y, m - 1, d, 12);
  return date.toLocaleDateString(pageLocale(), { weekday: "long", day: "numeric", month: "long", year: "numeric" });
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "text") node.textContent = value;
    else if (name === "onclick") node.addEventListener("click", value);
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

/* --- reading the day form ---------------------------------------------------------------- */

function formLabels(form) {
  const labels = {};
  const choices = {};
  for (const fieldset of form.querySelectorAll("fieldset")) {
    const legend = fieldset.querySelector("legend");
    for (const input of fieldset.querySelectorAll("input[name]")) {
      if (legend && !labels[input.name]) labels[input.name] = legend.textContent.trim();
      const label = input.id && form.querySelector(`label[for="${CSS.escape(input.id)}"]`);
      if (label) (choices[input.name] = choices[input.name] || {})[input.value] = label.textContent.trim();
    }
  }
  for (const input of form.querySelectorAll("textarea[name], input[type=text][name]")) {
    const label = input.id && form.querySelector(`label[for="${CSS.escape(input.id)}"]`);
    if (label) labels[input.name] = label.textContent.trim();
  }
  return { labels, choices };
}

function dayOf(form) {
  const path = new URL(form.action, location.href).pathname;
  const match = /^\/diary\/day\/(\d{4}-\d{2}-\d{2})\/$/.exec(path);
  return match ? { path, date: match[1] } : null;
}

async function queueForm(form, submitter) {
  const day = dayOf(form);
  if (!day) return false;
  const data = new FormData(form, submitter || undefined);
  const fields = [];
  for (const [name, value] of data.entries()) if (typeof value === "string") fields.push([name, value]);
  const { labels, choices } = formLabels(form);
  await enqueue({
    v: 1,
    date: day.date,
    action: day.path,
    fields,
    labels,
    choices,
    idempotency_key: (data.get("idempotency_key") || "").toString() || newKey(),
    base_version: (data.get("base_version") || "").toString(),
    csrf: csrfCookie() || (data.get("csrfmiddlewaretoken") || "").toString(),
    queued_at: new Date().toISOString(),
  });
  // The next save from this page is a new save: a new key (a repeated key would be taken for
  // this one and dropped as a duplicate).
  const key = form.querySelector("input[name=idempotency_key]");
  if (key) key.value = newKey();
  announcement = interpolate(gettext("Your diary for %(day)s is kept on this device."), { day: niceDay(day.date) });
  await requestSync();
  return true;
}

async function requestSync() {
  if (!("serviceWorker" in navigator)) return;
  try {
    const registration = await navigator.serviceWorker.ready;
    if (registration.sync) await registration.sync.register(SYNC_TAG);
  } catch (err) {
    /* Background Sync is optional: the online event and the next page load send the queue. */
  }
}

function hookDayForm() {
  const form = document.getElementById("day-form");
  if (!form || !IS_PATIENT) return;
  // A page kept on the device shows the key it was rendered with; every showing is a new save.
  const key = form.querySelector("input[name=idempotency_key]");
  if (key) key.value = newKey();
  form.addEventListener("submit", (event) => {
    if (navigator.onLine) return; // online: the ordinary save (the server answers conflicts itself)
    event.preventDefault();
    queueForm(form, event.submitter)
      .then(() => render({ focus: true }))
      .catch((err) =>
        showError(
          interpolate(
            gettext("Your diary could not be kept on this device (%(error)s). Nothing was sent: please keep this page open until you are back online."),
            { error: err.message },
          ),
        ),
      );
  });
}

/* --- signing out ----------------------------------------------------------------------- */

function hookSignOut() {
  for (const form of document.querySelectorAll("form")) {
    const action = new URL(form.getAttribute("action") || location.href, location.href).pathname;
    if (action !== LOGOUT) continue;
    form.addEventListener("submit", (event) => {
      if (form.dataset.cleared === "1") return;
      event.preventDefault();
      const leave = () => {
        form.dataset.cleared = "1";
        form.submit();
      };
      // Send what can still be sent, then remove everything; never hold the sign-out for long.
      const work = (navigator.onLine ? flush(csrfCookie()).catch(() => null) : Promise.resolve())
        .then(() => clearOwn())
        .then(() => unregister());
      Promise.race([work, new Promise((resolve) => setTimeout(resolve, 4000))]).then(leave, leave);
    });
  }
}

async function unregister() {
  if (!("serviceWorker" in navigator)) return;
  const registrations = await navigator.serviceWorker.getRegistrations();
  await Promise.all(registrations.map((r) => r.unregister()));
}

/* --- the queue panel --------------------------------------------------------------------- */

function panel() {
  let section = document.getElementById("offline-queue");
  if (!section) {
    section = el("section", { id: "offline-queue", class: "offline-queue", "aria-labelledby": "offline-queue-heading", tabindex: "-1" });
    const main = document.getElementById("main");
    if (!main) return null;
    const messages = main.querySelector(".messages");
    if (messages) messages.after(section);
    else main.prepend(section);
  }
  return section;
}

function showError(text) {
  const section = panel();
  if (!section) return;
  section.replaceChildren(
    el("h2", { id: "offline-queue-heading", text: gettext("Saved on this device") }),
    el("p", { class: "message error", role: "alert", text }),
  );
}

function shown(entry, name, value) {
  if (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)) return gettext("(not answered)");
  const names = (entry.choices && entry.choices[name]) || {};
  if (Array.isArray(value)) return value.map((v) => names[v] || v).join(", ");
  return names[value] || String(value);
}

function label(entry, name) {
  if (entry.labels && entry.labels[name]) return entry.labels[name];
  const dose = /^dose-.*-(\d+)$/.exec(name);
  if (dose) return interpolate(gettext("Dose %(number)s"), { number: dose[1] });
  return name.replace(/_/g, " ");
}

function mineValues(entry) {
  const mine = {};
  for (const [name, value] of entry.fields) {
    if (["csrfmiddlewaretoken", "idempotency_key", "base_version", "all_taken"].includes(name)) continue;
    if (name === "factors") (mine.factors = mine.factors || []).push(value);
    else mine[name] = value;
  }
  return mine;
}

function conflictCard(item) {
  const entry = item.entry;
  const mine = { ...mineValues(entry), ...(entry.server ? {} : {}) };
  const server = entry.server || {};
  const names = [...new Set([...Object.keys(server), ...Object.keys(mine)])];
  const same = (a, b) => JSON.stringify(a ?? "") === JSON.stringify(b ?? "") || (Array.isArray(a) && !a.length && !b) || (Array.isArray(b) && !b.length && !a);
  const headingId = `conflict-${item.id}`;
  const rows = names.map((name) => {
    const differs = !same(mine[name], server[name]);
    const th = el("th", { scope: "row", text: label(entry, name) });
    if (differs) th.append(" ", el("span", { class: "differs-mark", text: gettext("(different)") }));
    return el("tr", differs ? { class: "differs" } : {}, th, el("td", { text: shown(entry, name, mine[name]) }), el("td", { text: shown(entry, name, server[name]) }));
  });
  const table = el(
    "table",
    { class: "conflict-table" },
    // Announced, not shown: the card's heading names the day, and a caption would scroll away
    // with the table on a phone.
    el("caption", { class: "visually-hidden", text: interpolate(gettext("Your version and the saved one for %(day)s"), { day: niceDay(entry.date) }) }),
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: gettext("Question") }), el("th", { scope: "col", text: gettext("Yours (on this device)") }), el("th", { scope: "col", text: gettext("Saved") }))),
    el("tbody", {}, ...rows),
  );
  return el(
    "div",
    { class: "card conflict", role: "group", "aria-labelledby": headingId },
    el("h3", { id: headingId, text: interpolate(gettext("%(day)s was changed somewhere else"), { day: niceDay(entry.date) }) }),
    el("p", { text: gettext("The day you saved on this device was not sent: since then, it was saved from another device. Nothing was overwritten. Choose which version to keep.") }),
    el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": interpolate(gettext("Both versions of %(day)s"), { day: niceDay(entry.date) }) }, table),
    el(
      "p",
      { class: "actions" },
      el("button", { type: "button", class: "button", onclick: () => keepMine(item) , text: gettext("Keep mine") }),
      el("button", { type: "button", class: "button secondary", onclick: () => keepSaved(item), text: gettext("Keep the saved one") }),
    ),
  );
}

function invalidCard(item) {
  const entry = item.entry;
  const messages = [];
  for (const [name, list] of Object.entries(entry.errors || {})) {
    for (const text of list) messages.push(name === "__all__" || name === "date" ? text : `${label(entry, name)}: ${text}`);
  }
  const headingId = `invalid-${item.id}`;
  return el(
    "div",
    { class: "card refused", role: "group", "aria-labelledby": headingId },
    el("h3", { id: headingId, text: interpolate(gettext("%(day)s was not saved"), { day: niceDay(entry.date) }) }),
    el("p", { text: gettext("The diary refused this day, so it stays on this device:") }),
    el("ul", {}, ...messages.map((m) => el("li", { text: m }))),
    el(
      "p",
      { class: "actions" },
      el("button", { type: "button", class: "button", onclick: () => retry(item), text: gettext("Try again") }),
      el("button", { type: "button", class: "button secondary", onclick: () => discard(item, gettext("Removed from this device.")), text: gettext("Remove it from this device") }),
    ),
  );
}

function unreadableCard(item) {
  const headingId = `unreadable-${item.id}`;
  return el(
    "div",
    { class: "card refused", role: "group", "aria-labelledby": headingId },
    el("h3", { id: headingId, text: gettext("A saved day cannot be read") }),
    el("p", { text: interpolate(gettext("An entry kept on this device cannot be sent: %(error)s. It is left as it is until you remove it."), { error: item.error }) }),
    el("p", { class: "actions" }, el("button", { type: "button", class: "button secondary", onclick: () => discard(item, gettext("Removed from this device.")), text: gettext("Remove the unreadable entry") })),
  );
}

async function render({ focus = false } = {}) {
  let items;
  try {
    items = await list();
  } catch (err) {
    showError(gettext("The days kept on this device cannot be opened in this browser."));
    return;
  }
  const section = panel();
  if (!section) return;
  if (!items.length && !announcement && !sentDates.length) {
    section.remove();
    return;
  }
  const pending = items.filter((i) => i.entry && i.state === "pending");
  const children = [el("h2", { id: "offline-queue-heading", text: gettext("Saved on this device") })];
  let status = announcement;
  if (pending.length) {
    const days = pending.map((i) => niceDay(i.entry.date)).join("; ");
    const n = pending.length;
    const waiting = interpolate(
      ngettext("%(count)s day is waiting to be sent (%(days)s).", "%(count)s days are waiting to be sent (%(days)s).", n),
      { count: n, days },
    );
    let why = ngettext("It will be sent as soon as you are back online.", "They will be sent as soon as you are back online.", n);
    if (navigator.onLine && lastOutcome === "signin") why = ngettext("Sign in again to send it.", "Sign in again to send them.", n);
    else if (navigator.onLine && lastOutcome === "retry") {
      why = ngettext(
        "The diary could not take it just now: it is sent again on your next page.",
        "The diary could not take them just now: they are sent again on your next page.",
        n,
      );
    }
    status = `${status ? `${status} ` : ""}${waiting} ${why}`;
  }
  const waitingForYou = items.length - pending.length;
  if (waitingForYou) {
    const need = interpolate(
      ngettext("%(count)s day kept on this device needs your decision, below.", "%(count)s days kept on this device need your decision, below.", waitingForYou),
      { count: waitingForYou },
    );
    status = `${status ? `${status} ` : ""}${need}`;
  }
  children.push(el("p", { class: "message", role: "status", text: status || gettext("Everything saved on this device has been sent.") }));
  if (pending.length) children.push(el("p", { class: "help", text: gettext("Signing out removes days that are not sent yet.") }));
  // This page may be the copy kept on the device, older than what was just sent.
  for (const date of sentDates) {
    children.push(el("p", {}, el("a", { href: `/diary/day/${date}/`, text: interpolate(gettext("See %(day)s as saved"), { day: niceDay(date) }) })));
  }
  for (const item of items) {
    if (!item.entry) children.push(unreadableCard(item));
    else if (item.state === "conflict") children.push(conflictCard(item));
    else if (item.state === "invalid") children.push(invalidCard(item));
  }
  section.replaceChildren(...children);
  if (focus) section.focus();
}

async function keepMine(item) {
  const { server, server_version: version, ...entry } = item.entry;
  // The saved version becomes the base: the server takes mine over it (the 409 left the key unused).
  await update(item.id, "pending", { ...entry, base_version: version || "" });
  announcement = "";
  await send();
}

async function keepSaved(item) {
  await remove(item.id);
  announcement = interpolate(gettext("Kept the saved version of %(day)s."), { day: niceDay(item.entry.date) });
  await render({ focus: true });
}

async function retry(item) {
  const { errors, ...entry } = item.entry;
  await update(item.id, "pending", entry);
  announcement = "";
  await send();
}

async function discard(item, text) {
  await remove(item.id);
  announcement = text;
  await render({ focus: true });
}

/* --- sending ---------------------------------------------------------------------------- */

let sending = null;

/** What the last send (here or in the worker) found, for the panel's wording. */
function noteResults(results) {
  if (!results.length) return;
  lastOutcome = results[results.length - 1].outcome;
  announcement = ""; // "kept on this device" is old news once the server has answered
  const sent = results.filter((r) => r.outcome === "saved" || r.outcome === "duplicate");
  if (sent.length) announcement = interpolate(gettext("Sent to your diary: %(days)s."), { days: sent.map((r) => niceDay(r.date)).join("; ") });
  sentDates = sent.map((r) => r.date);
}

let sendAgain = false;

async function send() {
  // A send asked for while one runs (a choice made just as the page loaded) runs after it: the
  // running one may have read the queue before the choice was stored.
  if (sending) {
    sendAgain = true;
    return sending;
  }
  sending = (async () => {
    try {
      do {
        sendAgain = false;
        if (navigator.onLine && (await count())) noteResults((await flush(csrfCookie())) || []);
      } while (sendAgain);
    } finally {
      sending = null;
    }
    await render({ focus: false });
  })();
  return sending;
}

/* --- start ------------------------------------------------------------------------------ */

async function claimQueue() {
  // Another account's pages were open here last: theirs go; their queued days stay, unseen.
  const current = await owner();
  if (current !== USER) {
    await clearPages();
    await setOwner(USER);
  }
}

async function start() {
  hookSignOut();
  if ("serviceWorker" in navigator) {
    // A page the worker already served is kept by it; only a page loaded before the worker ran
    // (the first visit) asks to be kept.
    const controlled = !!navigator.serviceWorker.controller;
    navigator.serviceWorker
      .register("/sw.js", { scope: "/" })
      .then(() => navigator.serviceWorker.ready)
      .then((registration) => {
        if (!registration.active) return;
        if (!navigator.serviceWorker.controller) registration.active.postMessage({ type: "claim" });
        if (IS_PATIENT && !controlled) {
          registration.active.postMessage({ type: "keep-page", url: location.pathname + location.search });
        }
      })
      .catch(() => null);
    navigator.serviceWorker.addEventListener("message", (event) => {
      if (event.data && event.data.type === "diary-queue-changed") {
        noteResults(event.data.results || []);
        render();
      }
    });
  }
  if (!window.indexedDB || !window.crypto || !crypto.subtle) return;
  if (USER) {
    await claimQueue();
  } else if (!OFFLINE_PAGE) {
    return; // signed out: the queue waits, unsent and unshown, for its owner to sign in again
  }
  hookDayForm();
  window.addEventListener("online", () => send());
  window.addEventListener("offline", () => render());
  await send();
}

start().catch(() => null);


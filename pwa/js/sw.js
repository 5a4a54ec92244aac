/* The service worker (issue 12), built with Workbox by `npm run build:sw` into static/pwa/sw.js.
 *
 * - Precache: the app shell (stylesheets, scripts, icons, the offline page); the list is filled
 *   in by pwa/views.py when it serves /sw.js, so it names the deployed (hashed) file names.
 * - A patient's diary pages ("/" and /diary/day/<date>/) are network-first and kept for offline
 *   use; no other page is kept (they may hold other people's data: a clinician's lists).
 * - Any other page offline: the offline page.
 * - A day form POST that fails for want of a connection is queued (encrypted) rather than lost.
 * - Background Sync sends the queue when the connection returns, even with no page open.
 * - The page scripts' words (/jsi18n/<lang>/, every language precached): from the network when
 *   online, else the precached copy, so a page kept on the device keeps its language.
 */
import { cacheNames, clientsClaim } from "workbox-core";
import { cleanupOutdatedCaches, getCacheKeyForURL, matchPrecache, precacheAndRoute } from "workbox-precaching";
import { registerRoute, setCatchHandler } from "workbox-routing";
import { NetworkFirst, NetworkOnly, StaleWhileRevalidate } from "workbox-strategies";
import { ExpirationPlugin } from "workbox-expiration";
import { PAGES_CACHE, enqueue, flush } from "./queue.js";

const OFFLINE_URL = "/offline/";
const DIARY_PAGE = /^\/(diary\/day\/\d{4}-\d{2}-\d{2}\/)?$/;
const DAY_POST = /^\/diary\/day\/(\d{4}-\d{2}-\d{2})\/$/;
const CATALOG = /^\/jsi18n\/[a-z]{2}(-[a-z]{2})?\/$/;
// Set on the page script tag of a signed-in patient's pages (pwa/templatetags/pwa.py); escaped
// user text can never contain it (Django escapes the quotes).
const PATIENT_MARK = 'data-patient="1"';
export const SYNC_TAG = "diary-queue";

self.skipWaiting();
clientsClaim();
// Registered before the precache's own route, which would miss: the catalogue answers with
// Vary (Cookie, Accept-Language) though its words follow only the URL, so it is looked up
// ignoring Vary.
registerRoute(
  ({ url }) => url.origin === self.location.origin && !url.search && CATALOG.test(url.pathname),
  async ({ request, url }) => {
    try {
      return await fetch(request);
    } catch (err) {
      const key = getCacheKeyForURL(url.pathname);
      const cache = key && (await caches.open(cacheNames.precache));
      const kept = cache && (await cache.match(key, { ignoreVary: true }));
      if (kept) return kept;
      throw err;
    }
  },
);
precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

/** Only a patient's own diary page, complete and not a redirect, is kept on the device. */
const onlyPatientPages = {
  cacheWillUpdate: async ({ response }) => {
    if (!response || response.status !== 200 || response.redirected || response.type !== "basic") return null;
    const text = await response.clone().text();
    return text.includes(PATIENT_MARK) ? response : null;
  },
};

const pages = new NetworkFirst({
  cacheName: PAGES_CACHE,
  networkTimeoutSeconds: 8,
  matchOptions: { ignoreVary: true },
  plugins: [onlyPatientPages, new ExpirationPlugin({ maxEntries: 40, maxAgeSeconds: 14 * 24 * 3600 })],
});

registerRoute(
  ({ request, url }) =>
    request.mode === "navigate" && url.origin === self.location.origin && !url.search && DIARY_PAGE.test(url.pathname),
  pages,
);
registerRoute(({ request }) => request.mode === "navigate", new NetworkOnly());
registerRoute(
  ({ url }) => url.origin === self.location.origin && url.pathname.startsWith("/static/"),
  new StaleWhileRevalidate({ cacheName: "static" }),
);

/** A day form POST with no connection: queue what was typed, then show the offline page (whose
 *  script lists the queue). The page script normally queues before the POST is even tried; this
 *  covers a connection that drops while the browser still thinks it is online. */
registerRoute(
  ({ request, url }) => request.mode === "navigate" && url.origin === self.location.origin && DAY_POST.test(url.pathname),
  async ({ request }) => {
    const copy = request.clone();
    try {
      return await fetch(request);
    } catch (err) {
      const url = new URL(copy.url);
      const form = await copy.formData();
      const fields = [];
      for (const [name, value] of form.entries()) if (typeof value === "string") fields.push([name, value]);
      const get = (name) => (form.get(name) || "").toString();
      await enqueue({
        v: 1,
        date: DAY_POST.exec(url.pathname)[1],
        action: url.pathname,
        fields,
        labels: {},
        choices: {},
        idempotency_key: get("idempotency_key") || crypto.randomUUID(),
        base_version: get("base_version"),
        csrf: get("csrfmiddlewaretoken"),
        queued_at: new Date().toISOString(),
      });
      await registerSync();
      return Response.redirect(OFFLINE_URL, 303);
    }
  },
  "POST",
);

setCatchHandler(async ({ request }) => {
  if (request.mode === "navigate") {
    return (await matchPrecache(OFFLINE_URL)) || Response.error();
  }
  return Response.error();
});

async function registerSync() {
  if (self.registration.sync) {
    try { await self.registration.sync.register(SYNC_TAG); } catch (err) { /* not allowed here */ }
  }
}

async function tellPages(message) {
  const windows = await self.clients.matchAll({ type: "window" });
  for (const client of windows) client.postMessage(message);
}

/** Background Sync: send the queue with no page open. The CSRF token kept with each day is
 *  used; a "signin" or "offline" outcome leaves the days for the next page load. */
self.addEventListener("sync", (event) => {
  if (event.tag !== SYNC_TAG) return;
  event.waitUntil(
    (async () => {
      const results = (await flush(null)) || [];
      await tellPages({ type: "diary-queue-changed", results });
      if (results.some((r) => r.outcome === "offline")) throw new Error("still offline: try again later");
    })(),
  );
});

/** The page asks for itself to be kept (the first visit happens before the worker runs). */
self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "keep-page" && typeof data.url === "string") {
    const url = new URL(data.url, self.location.origin);
    if (url.origin !== self.location.origin || url.search || !DIARY_PAGE.test(url.pathname)) return;
    event.waitUntil(pages.handle({ event, request: new Request(url.href, { credentials: "same-origin" }) }).catch(() => null));
  }
  if (data.type === "sync") event.waitUntil(registerSync());
  // A page that loaded while the worker was activating misses the claim made on activation.
  if (data.type === "claim") event.waitUntil(self.clients.claim());
});

// The driver app's service worker: the shell (page, scripts, style, manifest, icon) is cached
// at install and served from the cache, refreshed in the background, so the app opens offline.
// API calls go to the network first; only the public "locate" answers (no personal data) are
// kept as the offline fallback. Sessions, invoices and tokens are never stored by the worker,
// and the live cost stream (/api/v1/sessions/{id}/live) goes past it untouched.
const CACHE = "chargeledger-app-v3";
const SHELL = [
  "/app/", "/app/app.css", "/app/app.js", "/app/api.js", "/app/locate.js", "/app/map.js",
  "/app/sessions.js", "/app/charge.js", "/app/reserve.js", "/app/wallet.js", "/app/problem.js",
  "/app/manifest.webmanifest", "/app/icon.svg",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

async function shellFirst(request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request);
  const fresh = fetch(request).then((answer) => {
    if (answer.ok) cache.put(request, answer.clone());
    return answer;
  });
  if (kept) {
    fresh.catch(() => undefined);  // offline: the kept copy is the answer
    return kept;
  }
  return fresh;
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const answer = await fetch(request);
    if (answer.ok) cache.put(request, answer.clone());
    return answer;
  } catch (error) {
    const kept = await cache.match(request);
    if (kept) return kept;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin) return;
  if (url.pathname === "/api/v1/locations") event.respondWith(networkFirst(event.request));
  else if (SHELL.includes(url.pathname)) event.respondWith(shellFirst(event.request));
});

// The /f/ pages' service worker (scope /f/). The server prefixes this file with ASSETS, the
// hashed bundle files. Hashed files: cache first. The pages: network first, the cache when
// there is no network. The OpenRosa requests (form, manifest, lists) are cached by the page
// itself (src/page.js), and submissions are never cached.
/* global ASSETS */
const CACHE = 'dh-f-v1';

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin || !url.pathname.startsWith('/f/')) return;
  if (url.pathname.startsWith('/f/assets/')) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
    return;
  }
  event.respondWith(
    fetch(request).then(
      (response) => {
        if (response.ok && request.mode === 'navigate') {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
        }
        return response;
      },
      () => caches.match(url.pathname).then((hit) => hit || Response.error()),
    ),
  );
});

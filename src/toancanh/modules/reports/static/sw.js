// Service worker of the citizens' pages (scope /phan-anh). It keeps the page shell, so the report page
// opens without a network (on a field trip, in a basement): pages and data are fetched from the network
// first and from the cache when offline; the shell's scripts and styles are served from the cache and
// refreshed in the background. Reports themselves (POST) always go to the network.
"use strict";
var VERSION = "tc-phan-anh-v1";
var SHELL = [
  "/phan-anh",
  "/phan-anh/tra-cuu",
  "/phan-anh/manifest.webmanifest",
  "/reports/static/rp.js",
  "/reports/static/citizen.js",
  "/reports/static/track.js",
  "/reports/static/mine.js",
  "/reports/static/pwa.js",
  "/reports/static/reports.css",
  "/reports/static/icon.svg",
  "/static/app.css",
  "/static/app.js",
  "/static/favicon.svg",
  "/static/vendor/htmx/htmx.min.js",
  "/static/vendor/leaflet/leaflet.js",
  "/static/vendor/leaflet/leaflet.css",
  "/api/v1/reports/area",
  "/api/v1/reports/categories"
];
var NETWORK_FIRST = ["/api/v1/reports/area", "/api/v1/reports/categories"];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(VERSION).then(function (cache) { return cache.addAll(SHELL); }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k.indexOf("tc-phan-anh-") === 0 && k !== VERSION; })
        .map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function networkFirst(request, store) {
  return fetch(request).then(function (response) {
    if (store && response.ok && response.type === "basic") {
      var copy = response.clone();
      caches.open(VERSION).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request, { ignoreSearch: true }).then(function (hit) { return hit || Response.error(); });
  });
}

function cacheFirst(request) {
  return caches.match(request).then(function (hit) {
    var refresh = fetch(request).then(function (response) {
      if (response.ok) { var copy = response.clone(); caches.open(VERSION).then(function (c) { c.put(request, copy); }); }
      return response;
    });
    if (hit) { refresh.catch(function () { return null; }); return hit; }
    return refresh;
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // Only the shell pages are kept: a tracking page holds the citizen's text and is fetched live.
    if (url.pathname === "/phan-anh" || url.pathname === "/phan-anh/tra-cuu") {
      event.respondWith(networkFirst(request, !url.search));
    }
    return;
  }
  if (NETWORK_FIRST.indexOf(url.pathname) >= 0) { event.respondWith(networkFirst(request, true)); return; }
  if (SHELL.indexOf(url.pathname) >= 0) event.respondWith(cacheFirst(request));
});

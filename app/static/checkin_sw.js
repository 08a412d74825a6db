// The check-in desk's service worker (issue 15), served at /checkin-sw.js with the scope
// /sites/ (checkin/offline_pages.py fills in VERSION and ASSETS). It keeps the scanner
// and headcount pages and their own static files so a desk opens them with no network.
// Network first, the kept copy when the network fails or is too slow: a desk online always
// gets the current page. API calls are never touched (the pages queue what fails).
"use strict";
var VERSION = "__VERSION__";
var ASSETS = __ASSETS__;
var CACHE = "diemcau-desk-" + VERSION;
var PAGES = /^\/sites\/\d+\/(checkin|headcount)$/;
var TIMEOUT_MS = 4000;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(ASSETS);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf("diemcau-desk-") === 0 && n !== CACHE;
    }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function keep(request, response) {
  // A redirect (to the login page) or an error is never kept in place of the page.
  if (!response || !response.ok || response.redirected || response.type !== "basic") {
    return Promise.resolve();
  }
  var copy = response.clone();
  return caches.open(CACHE).then(function (cache) { return cache.put(request, copy); });
}

function fromCache(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      return hit || cache.match(request, { ignoreSearch: true });
    });
  });
}

function networkFirst(request) {
  return new Promise(function (resolve, reject) {
    var settled = false;
    var timer = setTimeout(function () {
      fromCache(request).then(function (hit) {
        if (hit && !settled) { settled = true; resolve(hit); }
      });
    }, TIMEOUT_MS);
    fetch(request).then(function (response) {
      clearTimeout(timer);
      keep(request, response);
      if (!settled) { settled = true; resolve(response); }
    }, function (error) {
      clearTimeout(timer);
      fromCache(request).then(function (hit) {
        if (settled) { return; }
        settled = true;
        if (hit) { resolve(hit); } else { reject(error); }
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  var page = request.mode === "navigate" && PAGES.test(url.pathname);
  if (page || ASSETS.indexOf(url.pathname) >= 0) {
    event.respondWith(networkFirst(request));
  }
});

// A page that opened before the worker controlled it asks to be kept (its first visit).
self.addEventListener("message", function (event) {
  var path = event.data && event.data.keep;
  if (typeof path !== "string" || !PAGES.test(path.split("?")[0])) { return; }
  var request = new Request(path, { credentials: "same-origin" });
  event.waitUntil(fetch(request).then(function (response) { return keep(request, response); }));
});

// Service worker of the site screen (served at /screen/sw.js, scope /screen; registered
// by screen_offline.js). It keeps what the screen needs to show its last state when the
// link is gone, even after a reload: the page shell (/screen and the files it loads, which
// the page names in a "shell" message) and the slide images of the current conference's
// decks. The stage message itself (the agenda as shown) is kept by the page.
//
// - /screen and the shell's files: network first (an upgrade is picked up at once), the
//   cached copy when the network fails, answers an error or takes longer than NETWORK_MS.
// - Slide images (/decks/{id}/{key}/{page}.png, a capability URL that names one rendering
//   forever): cache first. Only the current conference's decks are kept, at most MAX_DECKS
//   of them and MAX_IMAGES images in all; another conference, a waiting screen or a
//   forgotten pairing (the page's "forget") empties them. On each stage change the next
//   AHEAD pages are fetched, one at a time after a random pause, so that thousands of
//   screens do not ask at the same instant.
// - Anything else (the API, other pages, other origins): not touched.
// Nothing here is per screen: a pairing's only secret stays in the page (localStorage).
"use strict";

var PREFIX = "diemcau-screen-";  // our caches; other workers of this origin have their own
var SHELL = PREFIX + "shell-v1";
var DECKS = PREFIX + "decks-v1";
var META = "/screen/sw-state";  // a synthetic entry of DECKS: {conference, decks}
var NETWORK_MS = 4000;
var MAX_DECKS = 2;
var MAX_IMAGES = 40;
var AHEAD = 2;
var SPREAD_MS = 3000;
var DECK_PAGE = /^\/decks\/\d+\/[A-Za-z0-9_-]{16,32}\/\d+\.png$/;

self.addEventListener("install", function () { self.skipWaiting(); });

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(PREFIX) === 0 && name !== SHELL && name !== DECKS;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

// One change of the deck state at a time: messages and image fetches interleave.
var queue = Promise.resolve();
function serial(task) {
  var run = queue.then(task);
  queue = run.catch(function () { return undefined; });
  return run;
}

function sameOrigin(url) {
  try { return new URL(url, self.location.origin).origin === self.location.origin; }
  catch (e) { return false; }
}

function path(url) { return new URL(url, self.location.origin).pathname; }

function deckOf(url) { return path(url).replace(/[^/]*$/, ""); }  // "/decks/{id}/{key}/"

function readState(cache) {
  return cache.match(META).then(function (hit) {
    return hit ? hit.json() : { conference: null, decks: [] };
  }).catch(function () { return { conference: null, decks: [] }; });
}

function writeState(cache, state) {
  return cache.put(META, new Response(JSON.stringify(state),
    { headers: { "Content-Type": "application/json" } }));
}

// Drop every image not of a kept deck, then the oldest past MAX_IMAGES (never `keep`).
function trim(cache, state, keep) {
  return cache.keys().then(function (requests) {
    var images = requests.filter(function (r) { return DECK_PAGE.test(path(r.url)); });
    var kept = images.filter(function (r) { return state.decks.indexOf(deckOf(r.url)) >= 0; });
    var drop = images.filter(function (r) { return kept.indexOf(r) < 0; });
    var extra = kept.length - MAX_IMAGES;
    kept.forEach(function (r) {
      if (extra > 0 && r.url !== keep) { drop.push(r); extra -= 1; }
    });
    return Promise.all(drop.map(function (r) { return cache.delete(r); }));
  });
}

function store(cache, url) {
  return cache.match(url).then(function (hit) {
    if (hit) { return undefined; }
    return fetch(url, { credentials: "omit", cache: "force-cache" }).then(function (response) {
      return response.ok ? cache.put(url, response) : undefined;
    });
  }).catch(function () { return undefined; });  // offline: the next stage change tries again
}

// The screen shows `slide` ({url, number, count}) of `conference` now (both may be null).
function onStage(conference, slide) {
  return serial(function () {
    return caches.open(DECKS).then(function (cache) {
      return readState(cache).then(function (state) {
        if (state.conference !== conference) { state = { conference: conference, decks: [] }; }
        var url = slide && typeof slide.url === "string" && DECK_PAGE.test(path(slide.url))
          && sameOrigin(slide.url) ? new URL(slide.url, self.location.origin).href : null;
        if (url) {
          var deck = deckOf(url);
          state.decks = [deck].concat(state.decks.filter(function (d) { return d !== deck; }))
            .slice(0, MAX_DECKS);
        } else if (conference === null) {
          state.decks = [];
        }
        return writeState(cache, state).then(function () { return trim(cache, state, url); })
          .then(function () { return url; });
      });
    });
  }).then(function (url) { return url ? prefetch(url, slide) : undefined; });
}

// This slide at once (it is on screen), then the next few after a random pause.
function prefetch(url, slide) {
  var number = Number(slide.number) || 1;
  var last = Math.min(Number(slide.count) || number, number + AHEAD);
  var deck = deckOf(url);
  return caches.open(DECKS).then(function (cache) {
    return store(cache, url).then(function () {
      return new Promise(function (done) { setTimeout(done, Math.random() * SPREAD_MS); });
    }).then(function next() {
      number += 1;
      if (number > last) { return undefined; }
      return readState(cache).then(function (state) {
        if (state.decks[0] !== deck) { return undefined; }  // the stage moved on meanwhile
        return store(cache, self.location.origin + deck + number + ".png").then(next);
      });
    });
  });
}

function cacheShell(urls) {
  var own = (urls || []).filter(function (u) {
    if (typeof u !== "string" || !sameOrigin(u)) { return false; }
    var p = path(u);
    return p === "/screen" || p.indexOf("/static/") === 0;
  }).map(function (u) {
    var url = new URL(u, self.location.origin);
    return url.origin + url.pathname + url.search;  // never a #fragment (the token)
  });
  return caches.open(SHELL).then(function (cache) {
    return Promise.all(own.map(function (url) {
      return fetch(url, { credentials: "omit", cache: "no-cache" }).then(function (response) {
        return response.ok ? cache.put(url, response) : undefined;
      }).catch(function () { return undefined; });
    }));
  });
}

function reply(event, message) {
  if (event.source && event.source.postMessage) { event.source.postMessage(message); }
}

self.addEventListener("message", function (event) {
  var data = event.data || {};
  var done;
  if (data.type === "shell") {
    done = cacheShell(data.urls).then(function () { reply(event, { type: "shell-cached" }); });
  } else if (data.type === "stage") {
    var conference = typeof data.conference === "number" ? data.conference : null;
    done = onStage(conference, data.slide || null).then(function () {
      reply(event, { type: "stage-cached", url: data.slide ? data.slide.url : null });
    });
  } else if (data.type === "forget") {
    done = serial(function () { return caches.delete(DECKS); });
  }
  if (done) { event.waitUntil(done.catch(function () { return undefined; })); }
});

// Network first, with a time limit; the cached copy when the network fails or errs.
function fresh(request, key, cacheName) {
  return caches.open(cacheName).then(function (cache) {
    return cache.match(key).then(function (cached) {
      var network = fetch(request).then(function (response) {
        if (response.ok && response.type === "basic") {
          cache.put(key, response.clone()).catch(function () { return undefined; });
        }
        return response;
      });
      if (!cached) { return network; }
      var late = new Promise(function (resolve) { setTimeout(resolve, NETWORK_MS, cached); });
      return Promise.race([network.then(function (r) { return r.ok ? r : cached; }), late])
        .catch(function () { return cached; });
    });
  });
}

function deckImage(event) {
  var request = event.request;
  var url = request.url;
  return caches.open(DECKS).then(function (cache) {
    return cache.match(url).then(function (cached) {
      if (cached) { return cached; }
      return fetch(request).then(function (response) {
        if (!response.ok) { return response; }
        var copy = response.clone();
        // Kept only when it belongs to a kept deck (the stage message names it).
        event.waitUntil(serial(function () {
          return readState(cache).then(function (state) {
            return state.decks.indexOf(deckOf(url)) >= 0 ? cache.put(url, copy) : undefined;
          });
        }).catch(function () { return undefined; }));
        return response;
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET" || !sameOrigin(request.url)) { return; }
  var url = new URL(request.url);
  if (request.mode === "navigate") {
    if (url.pathname === "/screen") {
      event.respondWith(fresh(request, url.origin + "/screen", SHELL));
    }
    return;  // other pages under the scope (/screen/pair) go to the network as usual
  }
  if (url.pathname.indexOf("/static/") === 0) {
    var key = url.origin + url.pathname + url.search;
    event.respondWith(caches.open(SHELL).then(function (cache) {
      return cache.match(key);
    }).then(function (hit) {
      // Only the shell's own files are kept (the page named them); others pass through.
      return hit ? fresh(request, key, SHELL) : fetch(request);
    }));
  } else if (DECK_PAGE.test(url.pathname)) {
    event.respondWith(deckImage(event));
  }
});

// Site screen, offline side (window.DiemcauScreenOffline, used by screen.js): the last
// stage or waiting message is kept in this browser so that a reload without network
// shows the last state at once, and the service worker (/screen/sw.js, screen_sw.js)
// keeps the page's files and the current deck's slide images.
// The kept message belongs to the pairing that received it: another token (a new link,
// a new pairing) or a revoked one (4401) forgets it and the worker's slide images.
(function () {
  "use strict";
  var KEY = "diemcau.screen.last";
  var worker = null;  // the active service worker, once ready
  var queued = [];  // messages for the worker before it was ready (the last stage only)

  function post(message) {
    if (worker) { worker.postMessage(message); return; }
    if (message.type === "stage") {
      queued = queued.filter(function (m) { return m.type !== "stage"; });
    }
    queued.push(message);
  }

  function forStage(msg) {
    var stage = msg.type !== "waiting";
    return { type: "stage", conference: stage ? msg.conference_id : null,
             slide: stage && msg.slide ? msg.slide : null };
  }

  // The files this page loaded (ours only; the worker checks again).
  function shellUrls() {
    var urls = [location.pathname];
    document.querySelectorAll("script[src], link[rel~='stylesheet'], link[rel~='icon']")
      .forEach(function (node) { urls.push(node.src || node.href); });
    return urls;
  }

  if ("serviceWorker" in navigator) {
    var container = navigator.serviceWorker;
    container.addEventListener("message", function (event) {
      var data = event.data || {};
      // Read by the browser tests: what the worker has put away.
      if (data.type === "shell-cached") { document.body.dataset.offlineShell = "1"; }
      if (data.type === "stage-cached") { document.body.dataset.offlineSlide = data.url || ""; }
    });
    container.register("/screen/sw.js", { scope: "/screen" }).then(function () {
      return container.ready;
    }).then(function (registration) {
      worker = registration.active;
      worker.postMessage({ type: "shell", urls: shellUrls() });
      queued.forEach(function (m) { worker.postMessage(m); });
      queued = [];
    }).catch(function () { return undefined; });  // no worker (plain http): reloads need the network
  }

  function forget() {
    try { localStorage.removeItem(KEY); } catch (e) { /* storage refused: nothing kept */ }
    post({ type: "forget" });
  }

  window.DiemcauScreenOffline = {
    // The message kept for this token, with when it came ({message, at}), or null.
    restore: function (token) {
      var kept = null;
      try { kept = JSON.parse(localStorage.getItem(KEY) || "null"); } catch (e) { kept = null; }
      if (!kept || typeof kept !== "object" || !kept.message) { return null; }
      if (kept.owner !== token) { forget(); return null; }
      return { message: kept.message, at: kept.at };
    },
    // Keep a snapshot, state or waiting message received at `at` (ms, the server's clock
    // as the page knows it); tell the worker which deck is shown.
    keep: function (token, msg, at) {
      var message = msg;
      if (msg.type === "waiting") {
        message = JSON.parse(JSON.stringify(msg));
        delete message.now;  // a stale server time would set the clock wrong
      }
      try {
        localStorage.setItem(KEY, JSON.stringify({ owner: token, at: at, message: message }));
      } catch (e) { /* storage full or refused: the live screen goes on */ }
      post(forStage(msg));
    },
    forget: forget
  };
})();

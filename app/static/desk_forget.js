// The login page: nobody is logged in on this device any more (a logout, or a login that
// expired), so the check-in desk forgets the attendees' names it kept for working offline
// (offline.js: the roster and the "already seen" marks) and the pages its service worker
// kept. The queue of scans not yet sent stays: the next login sends it. Done here rather
// than with a Clear-Site-Data header on logout, which would also drop a paired screen's
// token, unsent answers and unsent scans kept by the same browser.
(function () {
  "use strict";
  var form = document.querySelector('form[action="/login"]');
  if (!form || !window.indexedDB) { return; }
  var NAME = "diemcau-desk";
  var exists = indexedDB.databases
    ? indexedDB.databases().then(function (list) {
      return list.some(function (d) { return d.name === NAME; });
    })
    : Promise.resolve(true);
  exists.then(function (found) {
    if (!found) { return; }
    var req = indexedDB.open(NAME);
    // Never create the database here (offline.js makes it with its stores).
    req.onupgradeneeded = function () { req.transaction.abort(); };
    req.onsuccess = function () {
      var db = req.result;
      if (!db.objectStoreNames.contains("rosters")) { db.close(); return; }
      var t = db.transaction(["rosters", "state"], "readwrite");
      t.objectStore("rosters").clear();
      var states = t.objectStore("state");
      states.openCursor().onsuccess = function (event) {
        var cursor = event.target.result;
        if (!cursor) { return; }
        var value = cursor.value;
        value.seen = {};
        cursor.update(value);
        cursor.continue();
      };
      t.oncomplete = function () { db.close(); };
    };
  }).catch(function () { /* nothing kept, nothing to forget */ });
  if (window.caches) {
    caches.keys().then(function (names) {
      names.filter(function (n) { return n.indexOf("diemcau-desk-") === 0; })
        .forEach(function (n) { caches.delete(n); });
    }).catch(function () { /* no cache storage outside HTTPS */ });
  }
})();

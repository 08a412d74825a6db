// The check-in desk without network (issue 15): what the scanner and headcount pages share.
// - the service worker (/checkin-sw.js, scope /sites/) that lets these pages open offline;
// - IndexedDB: the site's roster (for name search and "already seen"), the public pass
//   keys, and the queue of what was done offline (each with its own nonce and time);
// - local pass verification (Ed25519 through WebCrypto; the server judges again on sync);
// - the sync: the queue goes to POST /api/v1/sites/{id}/sync in order, 200 at a time,
//   when the link returns, and every few seconds while anything waits. A 401 keeps the
//   queue and asks for a new login.
// Exposed as window.DiemcauOffline; the page scripts (checkin.js, headcount.js) use it.
(function () {
  "use strict";
  var root = document.getElementById("checkin") || document.getElementById("headcount-desk");
  var DB_NAME = "diemcau-desk";
  var BATCH = 200;
  var RETRY_MS = 15000;
  var REFUSALS_MAX = 200;
  var DOMAIN = "diemcau.pass";
  var B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  var SHORT_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
  var REASONS = {  // offline refusals the server may give; its own `detail` comes first
    scan_time_future: "Giờ quét sau giờ máy chủ (đồng hồ máy sai).",
    scan_too_old: "Lượt quét quá cũ, máy chủ không nhận.",
    scan_time_outside_session: "Giờ quét nằm ngoài giờ của phiên.",
    scan_time_outside_conference: "Giờ quét không thuộc ngày hội nghị.",
    headcount_invalid: "Báo cáo số lượng không hợp lệ."
  };

  // ------------------------------------------------------------- IndexedDB
  var dbPromise = null;
  function openDb() {
    if (dbPromise) { return dbPromise; }
    dbPromise = new Promise(function (ok, fail) {
      if (!window.indexedDB) { fail(new Error("no IndexedDB")); return; }
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () {
        var db = req.result;
        var queue = db.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
        queue.createIndex("site", "site");
        db.createObjectStore("rosters", { keyPath: "site" });
        db.createObjectStore("state", { keyPath: "site" });
        db.createObjectStore("keys", { keyPath: "id" });
      };
      req.onsuccess = function () { ok(req.result); };
      req.onerror = function () { fail(req.error); };
    });
    return dbPromise;
  }

  function tx(store, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (ok, fail) {
        var t = db.transaction(store, mode);
        var out = work(t.objectStore(store));
        t.oncomplete = function () { ok(out instanceof IDBRequest ? out.result : out); };
        t.onerror = function () { fail(t.error); };
        t.onabort = function () { fail(t.error); };
      });
    });
  }

  function get(store, key) { return tx(store, "readonly", function (s) { return s.get(key); }); }
  function put(store, value) { return tx(store, "readwrite", function (s) { s.put(value); }); }
  function del(store, key) { return tx(store, "readwrite", function (s) { s.delete(key); }); }

  function queued(site, limit) {
    return tx("queue", "readonly", function (s) {
      return s.index("site").getAll(IDBKeyRange.only(site), limit);
    }).then(function (items) {
      return (items || []).sort(function (a, b) { return a.seq - b.seq; });
    });
  }

  function pendingCount(site) {
    return tx("queue", "readonly", function (s) { return s.index("site").count(IDBKeyRange.only(site)); });
  }

  function state(site) {
    return get("state", site).then(function (s) {
      return s || { site: site, accepted: 0, already: 0, refusedCount: 0, refused: [], seen: {}, syncedAt: null };
    });
  }

  // ------------------------------------------------------------------ text
  function searchKey(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/đ/g, "d").replace(/\s+/g, " ").trim();
  }

  function shortCode(text) {
    if (!text || text.length > 20) { return null; }
    var compact = text.trim().toUpperCase().replace(/[- ]/g, "");
    if (compact.length !== 8) { return null; }
    for (var i = 0; i < compact.length; i++) {
      if (SHORT_ALPHABET.indexOf(compact[i]) < 0) { return null; }
    }
    return compact;
  }

  function nonce() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // ---------------------------------------------------------------- passes
  function b32decode(body) {
    var bits = 0, value = 0, out = [];
    for (var i = 0; i < body.length; i++) {
      var v = B32.indexOf(body[i]);
      if (v < 0) { return null; }
      value = (value << 5) | v;
      bits += 5;
      if (bits >= 8) {
        bits -= 8;
        out.push((value >> bits) & 255);
        value &= (1 << bits) - 1;
      }
    }
    // One spelling per pass: the unused trailing bits must be zero (as the server checks).
    if (bits >= 5 || value !== 0) { return null; }
    return new Uint8Array(out);
  }

  // The claims of a well-formed pass code (not yet its signature), or null.
  function parsePass(code) {
    var text = (code || "").replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
    if (code.length > 200 || (text !== text.toUpperCase() && text !== text.toLowerCase())) { return null; }
    text = text.toUpperCase();
    if (text.slice(0, 3) !== "DC1" || text.length <= 3) { return null; }
    var raw = b32decode(text.slice(3));
    if (!raw || raw.length < 2 || raw[0] !== 1) { return null; }
    var n = raw[1], end = 2 + n + 14;
    if (n < 1 || n > 8 || raw.length !== end + 64) { return null; }
    var kid = String.fromCharCode.apply(null, raw.slice(2, 2 + n));
    if (!/^[a-z0-9]{1,8}$/.test(kid)) { return null; }
    var view = new DataView(raw.buffer, 2 + n, 14);
    return {
      kid: kid, conference_id: view.getUint32(0), attendee_id: view.getUint32(4),
      version: view.getUint16(8), expires_at: view.getUint32(10),
      payload: raw.slice(0, end), signature: raw.slice(end)
    };
  }

  function looksLikePass(code) {
    var t = (code || "").trim();
    return t.slice(0, 3).toUpperCase() === "DC1" && t.length > 12;
  }

  var importedKeys = {};
  function publicKey(entry) {
    if (!importedKeys[entry.kid]) {
      var raw = Uint8Array.from(atob(entry.public_key), function (c) { return c.charCodeAt(0); });
      importedKeys[entry.kid] = crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    }
    return importedKeys[entry.kid];
  }

  // Resolves to {ok: true, claims, checked} or {ok: false, code, detail}. `checked` is false
  // where the browser cannot verify Ed25519 (no WebCrypto outside HTTPS): queued anyway.
  function verifyPass(code, keyList, conferenceId) {
    var claims = parsePass(code);
    if (!claims) { return Promise.resolve(refusal("pass_malformed", "Mã vừa quét không phải thẻ đại biểu hợp lệ.")); }
    var entry = (keyList || []).filter(function (k) { return k.kid === claims.kid; })[0];
    if (!entry) { return Promise.resolve({ ok: true, claims: claims, checked: false }); }
    if (entry.revoked_at) { return Promise.resolve(refusal("pass_key_revoked", "Thẻ được ký bằng khoá đã bị thu hồi; hãy dùng thẻ được cấp lại.")); }
    if (claims.expires_at <= Date.now() / 1000) { return Promise.resolve(refusal("pass_expired", "Thẻ đã hết hạn.")); }
    if (claims.conference_id !== conferenceId) { return Promise.resolve(refusal("pass_other_conference", "Thẻ thuộc hội nghị khác.")); }
    if (!(window.crypto && crypto.subtle)) { return Promise.resolve({ ok: true, claims: claims, checked: false }); }
    var signed = new Uint8Array(DOMAIN.length + claims.payload.length);
    signed.set(new TextEncoder().encode(DOMAIN));
    signed.set(claims.payload, DOMAIN.length);
    return publicKey(entry).then(function (key) {
      return crypto.subtle.verify({ name: "Ed25519" }, key, claims.signature, signed);
    }).then(function (good) {
      return good ? { ok: true, claims: claims, checked: true }
        : refusal("pass_bad_signature", "Chữ ký trên thẻ không đúng (thẻ giả hoặc bị sửa).");
    }, function () { return { ok: true, claims: claims, checked: false }; });
  }

  function refusal(code, detail) { return { ok: false, code: code, detail: detail }; }

  // ---------------------------------------------------------------- roster
  function indexRoster(r) {
    r.byId = {};
    r.byCode = {};
    r.attendees.forEach(function (a) {
      a.words = searchKey(a.full_name).split(" ");
      r.byId[a.id] = a;
      r.byCode[a.short_code] = a;
    });
    return r;
  }

  function loadRoster(site, user) {
    return get("rosters", site).then(function (r) {
      if (!r) { return null; }
      // Another login on this device, or the conference is over: the roster goes.
      if (r.user !== user || new Date(r.delete_after) <= new Date()) {
        return forgetSite(site).then(function () { return null; });
      }
      return indexRoster(r);
    });
  }

  function storeRoster(site, user, body) {
    body.site = site;
    body.user = user;
    body.stored_at = new Date().toISOString();
    return put("rosters", body).then(function () { return indexRoster(body); });
  }

  function forgetSite(site) {
    return del("rosters", site).then(function () {
      return state(site);
    }).then(function (s) {
      s.seen = {};
      return put("state", s);
    });
  }

  // Attendees whose name words start with the query's words (any order), or whose short
  // code it is; in the roster's (Vietnamese) order, as the server's search.
  function searchRoster(r, q, limit) {
    var found = [];
    var code = shortCode(q);
    if (code && r.byCode[code]) { found.push(r.byCode[code]); }
    var words = searchKey(q).split(" ").filter(Boolean).slice(0, 5);
    if (!words.length) { return found; }
    for (var i = 0; i < r.attendees.length && found.length < limit; i++) {
      var a = r.attendees[i];
      var all = words.every(function (w) { return a.words.some(function (n) { return n.indexOf(w) === 0; }); });
      if (all && found.indexOf(a) < 0) { found.push(a); }
    }
    return found.slice(0, limit);
  }

  // --------------------------------------------------------------------- keys
  function loadKeys() {
    return get("keys", "pass-keys").then(function (k) { return k ? k.keys : []; });
  }

  function fetchKeys() {
    return fetch("/api/v1/pass-keys", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("keys " + r.status); } return r.json(); })
      .then(function (list) {
        return put("keys", { id: "pass-keys", keys: list, fetched_at: new Date().toISOString() })
          .then(function () { return list; });
      });
  }

  // ----------------------------------------------------------------- judge
  // What the desk can tell of a code with no network: {verdict: "refused", code, detail}
  // for what the server would surely refuse, else {verdict: "queue", attendee (from the
  // roster, or null), who: the key of "already seen"}.
  function judge(code, roster, keyList, conferenceId) {
    if (looksLikePass(code)) {
      return verifyPass(code, keyList, conferenceId).then(function (v) {
        if (!v.ok) { return { verdict: "refused", code: v.code, detail: v.detail }; }
        var a = roster ? roster.byId[v.claims.attendee_id] || null : null;
        if (a && (a.revoked || v.claims.version < a.pass_version)) {
          return { verdict: "refused", code: "pass_revoked", detail: "Thẻ đã bị thu hồi hoặc đã được cấp lại; hãy dùng thẻ mới nhất." };
        }
        return { verdict: "queue", attendee: a, who: "a" + v.claims.attendee_id, checked: v.checked };
      });
    }
    var sc = shortCode(code);
    if (!sc) {
      return Promise.resolve({ verdict: "refused", code: "short_code_not_found", detail: "Không có đại biểu nào mang mã này trong hội nghị." });
    }
    var a = roster ? roster.byCode[sc] || null : null;
    if (a && a.revoked) {
      return Promise.resolve({ verdict: "refused", code: "pass_revoked", detail: "Thẻ đã bị thu hồi hoặc đã được cấp lại; hãy dùng thẻ mới nhất." });
    }
    return Promise.resolve({ verdict: "queue", attendee: a, who: a ? "a" + a.id : "c" + sc, short: sc });
  }

  window.DiemcauOffline = {
    judge: judge,
    openDb: openDb, get: get, put: put, del: del, queued: queued, pendingCount: pendingCount,
    state: state, searchKey: searchKey, shortCode: shortCode, nonce: nonce,
    parsePass: parsePass, looksLikePass: looksLikePass, verifyPass: verifyPass,
    loadRoster: loadRoster, storeRoster: storeRoster, forgetSite: forgetSite,
    searchRoster: searchRoster, loadKeys: loadKeys, fetchKeys: fetchKeys,
    BATCH: BATCH, RETRY_MS: RETRY_MS, REFUSALS_MAX: REFUSALS_MAX, REASONS: REASONS, root: root
  };

  // ---------------------------------------------------------- service worker
  if (root && "serviceWorker" in navigator) {
    navigator.serviceWorker.register("/checkin-sw.js", { scope: "/sites/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (reg) {
      // The first visit was not served through the worker: ask it to keep this page now.
      if (!navigator.serviceWorker.controller && reg.active) {
        reg.active.postMessage({ keep: location.pathname + location.search });
      }
    }).catch(function () { /* no worker (plain http): the page works online as before */ });
  }
})();

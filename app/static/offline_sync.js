// The desk's queue and its sync (issue 15), shared by the scanner and headcount pages:
// what was done without network waits in IndexedDB (offline.js) and goes, in order and
// 200 at a time, to POST /api/v1/sites/{id}/sync when the link returns (the `online`
// event, then every 15 s while anything waits). The panel says how many wait, how many
// the server took, and each refusal with its reason. A 401 keeps the queue and asks for
// a new login. Exposed as window.DiemcauDesk.
(function () {
  "use strict";
  var O = window.DiemcauOffline;
  var root = O && O.root;
  if (!root) { return; }
  var SITE = Number(root.dataset.siteId);
  var USER = Number(root.dataset.userId);
  var CSRF = root.dataset.csrf || "";
  var el = function (id) { return document.getElementById(id); };
  var timeFmt = new Intl.DateTimeFormat("vi-VN", {
    timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", hour12: false
  });
  var numberFmt = new Intl.NumberFormat("vi-VN");
  var DEVICE_KEY = "diemcau.checkin.device";
  var device = null;
  try { device = localStorage.getItem(DEVICE_KEY); } catch (e) { /* private mode */ }
  if (!device) {
    device = "web-" + O.nonce().slice(0, 8);
    try { localStorage.setItem(DEVICE_KEY, device); } catch (e) { /* private mode */ }
  }

  var offline = !navigator.onLine;
  var syncing = false;
  var authLost = false;
  var lastError = "";
  var current = null;  // this page's copy of the site's state (counters, refusals, seen)
  var batch = O.BATCH;  // 1 after a request refused whole (422): find the item at fault
  var ready = O.state(SITE).then(function (s) { current = s; return s; });

  function hhmm(iso) {
    var d = iso ? new Date(iso) : new Date();
    return isNaN(d) ? "" : timeFmt.format(d);
  }

  function isOffline() { return offline || !navigator.onLine; }

  function setOffline(value) {
    if (offline === value) { return; }
    offline = value;
    render();
    if (!value) { syncNow(); }
  }

  function save() { return O.put("state", current); }

  // ------------------------------------------------------------------ panel
  function text(id, value) { var e = el(id); if (e) { e.textContent = value; } }

  function render() {
    return ready.then(function () { return O.pendingCount(SITE); }).then(function (pending) {
      var status = el("net-status");
      if (status) {
        status.dataset.state = isOffline() ? "offline" : (syncing ? "syncing" : "online");
        status.textContent = isOffline()
          ? "Mất kết nối — vẫn điểm danh được; các lượt được lưu trên máy này và gửi khi có mạng."
          : (syncing ? "Đang gửi các lượt đã lưu…" : "Đang có kết nối.");
      }
      var lost = el("auth-lost");
      if (lost) { lost.hidden = !authLost; }
      text("sync-pending", numberFmt.format(pending));
      text("sync-accepted", numberFmt.format(current.accepted + current.already));
      text("sync-already", current.already ? "(" + numberFmt.format(current.already) + " đã điểm danh từ trước)" : "");
      text("sync-refused", numberFmt.format(current.refusedCount));
      text("sync-error", lastError);
      text("sync-at", current.syncedAt ? "Lần gửi gần nhất: " + hhmm(current.syncedAt) : "");
      var list = el("sync-refusals");
      if (list) {
        list.textContent = "";
        current.refused.forEach(function (r) {
          var li = document.createElement("li");
          li.className = "err";
          var t = document.createElement("time");
          t.textContent = hhmm(r.at);
          li.appendChild(t);
          li.appendChild(document.createTextNode((r.label ? r.label + " — " : "") + r.detail));
          li.dataset.code = r.code || "";
          list.appendChild(li);
        });
      }
      root.dataset.pending = String(pending);
      return pending;
    });
  }

  // ------------------------------------------------------------------ queue
  function enqueue(item) {
    item.site = SITE;
    item.user = USER;
    item.nonce = item.nonce || O.nonce();
    item.at = item.at || new Date().toISOString();
    return O.put("queue", item).then(render);
  }

  function seenAt(sessionKey, who) {
    var bucket = current && current.seen[sessionKey];
    return bucket ? bucket[who] || null : null;
  }

  function markSeen(sessionKey, who, at) {
    return ready.then(function () {
      var bucket = current.seen[sessionKey] || (current.seen[sessionKey] = {});
      if (!bucket[who]) { bucket[who] = at || new Date().toISOString(); }
      return save();
    });
  }

  // What the server gets of an item: the contract's fields, nothing kept for the panel.
  function wire(item) {
    var out = { kind: item.kind, nonce: item.nonce, at: item.at };
    ["code", "session_id", "method", "counts", "reason"].forEach(function (k) {
      if (item[k] !== undefined) { out[k] = item[k]; }
    });
    return out;
  }

  function applyResults(items, results) {
    var byNonce = {};
    results.forEach(function (r) { byNonce[r.nonce] = r; });
    var done = items.filter(function (item) { return byNonce[item.nonce]; });
    done.forEach(function (item) {
      var r = byNonce[item.nonce];
      if (r.outcome === "accepted") { current.accepted += 1; }
      else if (r.outcome === "already") { current.already += 1; }
      else {
        current.refusedCount += 1;
        current.refused.unshift({
          at: item.at, code: r.code, label: (r.attendee && r.attendee.full_name) || item.label || "",
          detail: r.detail || O.REASONS[r.code] || r.code || "Bị từ chối"
        });
      }
      if (r.outcome !== "refused" && r.attendee && item.kind === "scan") {
        var bucket = current.seen[item.sessionKey || "0"] || (current.seen[item.sessionKey || "0"] = {});
        bucket["a" + r.attendee.id] = bucket["a" + r.attendee.id] || r.at;
      }
    });
    current.refused = current.refused.slice(0, O.REFUSALS_MAX);
    current.syncedAt = new Date().toISOString();
    return O.openDb().then(function (db) {
      return new Promise(function (ok, fail) {
        var t = db.transaction(["queue", "state"], "readwrite");
        done.forEach(function (item) { t.objectStore("queue").delete(item.seq); });
        t.objectStore("state").put(current);
        t.oncomplete = function () { ok(done.length); };
        t.onerror = function () { fail(t.error); };
      });
    });
  }

  function send(items) {
    return fetch("/api/v1/sites/" + SITE + "/sync", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF, "Accept": "application/json" },
      body: JSON.stringify({ device: device, items: items.map(wire) })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) { return [r.status, body]; });
    }, function () { return [0, {}]; });
  }

  // One batch after another until the queue is empty or the server stops taking them.
  function drain() {
    return O.queued(SITE, batch).then(function (items) {
      if (!items.length) { return null; }
      return send(items).then(function (res) {
        var status = res[0], body = res[1];
        if (status === 200 && body.results) {
          offline = false;
          authLost = false;
          lastError = "";
          batch = O.BATCH;
          return applyResults(items, body.results).then(function (n) { return n ? drain() : null; });
        }
        if (status === 0) { offline = true; return null; }
        if (status === 401 || (status === 403 && body.code === "csrf_failed")) {
          authLost = true;  // the queue stays; a new login sends it
          return null;
        }
        if (status === 422 && items.length > 1) { batch = 1; return drain(); }
        if (status === 422) {  // this one item can never be taken: listed as refused
          return applyResults(items, [{ nonce: items[0].nonce, outcome: "refused", code: body.code || "sync_invalid",
                                        detail: body.detail || "Dữ liệu không hợp lệ." }]).then(drain);
        }
        lastError = "Chưa gửi được: " + (body.detail || "lỗi " + status) + ". Sẽ thử lại.";
        return null;
      });
    });
  }

  // After a failed request (the browser may still say "online"), a cheap probe finds out
  // whether the server answers again.
  function probe() {
    return fetch("/healthz", { cache: "no-store" }).then(function (r) {
      if (r.ok) { offline = false; }
    }, function () { offline = true; });
  }

  function syncNow() {
    if (syncing || !navigator.onLine) { return render(); }
    syncing = true;
    var run = function () {
      return ready.then(render).then(function (n) {
        if (n) { return drain(); }
        return offline ? probe() : null;
      });
    };
    var locked = navigator.locks
      ? navigator.locks.request("diemcau-sync-" + SITE, { ifAvailable: true }, function (lock) {
        return lock ? run() : null;  // another tab of this desk is sending
      })
      : run();
    return Promise.resolve(locked).catch(function () { lastError = "Chưa gửi được; sẽ thử lại."; })
      .then(function () { syncing = false; return render(); });
  }

  window.addEventListener("online", function () { setOffline(false); });
  window.addEventListener("offline", function () { setOffline(true); });
  setInterval(syncNow, O.RETRY_MS);

  window.DiemcauDesk = {
    site: SITE, user: USER, device: device, ready: ready, enqueue: enqueue, syncNow: syncNow,
    isOffline: isOffline, setOffline: setOffline, render: render, hhmm: hhmm,
    seenAt: seenAt, markSeen: markSeen, authLost: function () { return authLost; },
    loseAuth: function () { authLost = true; render(); }
  };
  syncNow();
})();

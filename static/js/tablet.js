// Judges' tablet: marks are kept on the tablet first (IndexedDB) and synced when the network
// allows. Nothing typed is lost, and nothing is counted twice: each mark carries a client id
// the server stores once. Texts come from data-i18n-* attributes (translated by the server).
(function () {
  "use strict";

  var root = document.querySelector("[data-tablet-page]");
  if (!root) { return; }

  var PAGE = root.getAttribute("data-tablet-page");          // "sheet" | "assignments"
  var EVENT_ID = Number(root.getAttribute("data-event-id"));
  var USER_ID = String(root.getAttribute("data-user-id") || "");
  var MARKS_URL = root.getAttribute("data-marks-url");
  var SW_URL = root.getAttribute("data-sw-url");
  var SW_SCOPE = root.getAttribute("data-sw-scope");
  var CODE = root.getAttribute("data-code") || "";

  var DB_NAME = "compete-tablet";
  var DB_VERSION = 1;
  var GRACE_MS = 2000;          // a value is sent this long after its last edit (or on leaving the field)
  var BATCH = 50;               // marks per request
  var MAX_BACKOFF_MS = 30000;
  var IDLE_CHECK_MS = 30000;    // look for work this often even when nothing happens
  var KEEP_SYNCED_MS = 7 * 24 * 3600 * 1000;

  var OPEN = { pending: true, syncing: true };   // states that still have to reach the server

  // ---- small helpers ----------------------------------------------------------------------

  function text(key, values) {
    var template = root.getAttribute("data-i18n-" + key) || "";
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function uuid4() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function pad(n, width) {
    var s = String(Math.floor(Math.abs(n)));
    while (s.length < (width || 2)) { s = "0" + s; }
    return s;
  }

  function isoNow() {
    var d = new Date();
    var offset = -d.getTimezoneOffset();
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." +
      pad(d.getMilliseconds(), 3) + (offset >= 0 ? "+" : "-") + pad(offset / 60) + ":" + pad(offset % 60);
  }

  function deviceLabel() {
    var key = "compete-tablet-device";
    var label = null;
    try { label = window.localStorage.getItem(key); } catch (e) { label = null; }
    if (!label) {
      label = "tablet-" + uuid4().slice(0, 8);
      try { window.localStorage.setItem(key, label); } catch (e) { /* private mode: a new label each time */ }
    }
    return label;
  }
  var DEVICE = deviceLabel();

  // Marks as integer hundredths: no floating point anywhere.
  function toCents(value) {
    var s = String(value === null || value === undefined ? "" : value).trim();
    var m = /^(\d+)(?:\.(\d*))?$/.exec(s);
    if (!m) { return null; }
    var frac = (m[2] || "").replace(/0+$/, "");
    if (frac.length > 2) { return NaN; }
    return Number(m[1]) * 100 + Number((frac + "00").slice(0, 2));
  }

  function fromCents(cents) {
    var whole = Math.floor(cents / 100);
    var frac = cents % 100;
    if (!frac) { return String(whole); }
    return whole + "." + pad(frac).replace(/0$/, "");
  }

  function normalise(raw) {
    // Full-width digits and separators from Chinese input methods.
    return String(raw || "").replace(/[\uff10-\uff19]/g, function (ch) {
      return String.fromCharCode(ch.charCodeAt(0) - 0xfee0);
    }).replace(/[\uff0e\u3002,\uff0c]/g, ".").replace(/\s+/g, "");
  }

  // ---- IndexedDB --------------------------------------------------------------------------

  var dbPromise = null;

  function openDb() {
    if (dbPromise) { return dbPromise; }
    dbPromise = new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
      var request = window.indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains("queue")) {
          db.createObjectStore("queue", { keyPath: "client_id" }).createIndex("event_id", "event_id");
        }
        if (!db.objectStoreNames.contains("cells")) {
          db.createObjectStore("cells", { keyPath: "key" }).createIndex("event_id", "event_id");
        }
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
      request.onblocked = function () { reject(new Error("IndexedDB blocked")); };
    });
    return dbPromise;
  }

  function allOfEvent(store) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var request = db.transaction(store, "readonly").objectStore(store)
          .index("event_id").getAll(EVENT_ID);
        request.onsuccess = function () { resolve(request.result || []); };
        request.onerror = function () { reject(request.error); };
      });
    });
  }

  // Write records (and delete keys) in one transaction; resolves once it is on disk.
  function write(changes) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(["queue", "cells"], "readwrite");
        (changes.items || []).forEach(function (item) { tx.objectStore("queue").put(item); });
        (changes.cells || []).forEach(function (cell) { tx.objectStore("cells").put(cell); });
        (changes.dropItems || []).forEach(function (id) { tx.objectStore("queue").delete(id); });
        (changes.dropCells || []).forEach(function (key) { tx.objectStore("cells").delete(key); });
        tx.oncomplete = function () { resolve(); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  // ---- the model: items to sync and the last typed value of each cell ----------------------
  // The maps below are the truth inside this tab; every change is written through to IndexedDB.

  var items = new Map();     // client_id -> queue item
  var cells = new Map();     // key -> {key, event_id, user_id, code, criterion_id, value, base, client_id, draft}
  var inflight = new Set();  // client ids in the request now under way
  var storageOk = true;
  var seqCounter = 0;

  function cellKey(code, criterionId) {
    return USER_ID + "|" + EVENT_ID + "|" + code + "|" + criterionId;
  }

  function itemsOfCell(key) {
    var list = [];
    items.forEach(function (item) { if (item.cell === key) { list.push(item); } });
    return list.sort(function (a, b) { return a.seq - b.seq; });
  }

  function openItemOf(key) {
    var open = itemsOfCell(key).filter(function (item) { return OPEN[item.state]; });
    return open.length ? open[open.length - 1] : null;
  }

  function countOpen(code) {
    var n = 0;
    items.forEach(function (item) {
      if (OPEN[item.state] && (!code || item.code === code)) { n += 1; }
    });
    return n;
  }

  function countProblems(code) {
    var n = 0;
    cells.forEach(function (cell) {
      var item = cell.client_id && items.get(cell.client_id);
      if ((!code || cell.code === code) && (cell.draft || (item && (item.state === "conflict" || item.state === "refused")))) {
        n += 1;
      }
    });
    return n;
  }

  function persist(changes) {
    return write(changes).then(null, function () {
      storageOk = false;
      renderBanner();
    });
  }

  function load() {
    return Promise.all([allOfEvent("queue"), allOfEvent("cells")]).then(function (loaded) {
      var now = Date.now();
      var stale = [];
      loaded[0].forEach(function (item) {
        if (String(item.user_id) !== USER_ID) { return; }   // another judge's marks on this tablet
        if (item.state === "synced" && now - (item.updated_at || 0) > KEEP_SYNCED_MS) {
          stale.push(item.client_id);
          return;
        }
        if (item.state === "syncing") { item.state = "pending"; }   // the page closed mid-request
        items.set(item.client_id, item);
        seqCounter = Math.max(seqCounter, item.seq || 0);
      });
      loaded[1].forEach(function (cell) {
        if (String(cell.user_id) === USER_ID) { cells.set(cell.key, cell); }
      });
      if (stale.length) { persist({ dropItems: stale }); }
    }, function () {
      storageOk = false;
    });
  }

  function newItem(cell, value, reason, base, after) {
    seqCounter = Math.max(seqCounter + 1, Date.now());
    return {
      client_id: uuid4(), code: cell.code, criterion_id: cell.criterion_id, value: value,
      base: base, entered_at: isoNow(), reason: reason || null, device: DEVICE,
      event_id: EVENT_ID, user_id: USER_ID, state: "pending", cell: cell.key, seq: seqCounter,
      after: after || null, attempts: 0, ready_at: Date.now() + GRACE_MS,
      mark_id: null, server_value: null, message: null, updated_at: Date.now()
    };
  }

  // ---- the sync loop ------------------------------------------------------------------------

  var syncing = false;
  var failures = 0;
  var timer = 0;
  var nextAttemptAt = 0;
  var note = "";            // the last problem, shown in the banner
  var heldCells = new Set(); // cells whose input holds an invalid value: their pending mark waits

  function sendable() {
    var now = Date.now();
    var seenCells = new Set();
    var batch = [];
    Array.from(items.values()).sort(function (a, b) { return a.seq - b.seq; }).forEach(function (item) {
      if (!OPEN[item.state]) { return; }
      if (seenCells.has(item.cell)) { return; }      // one mark per cell per request, oldest first
      seenCells.add(item.cell);
      if (item.state !== "pending" || inflight.has(item.client_id)) { return; }
      if (item.after && items.has(item.after) && OPEN[items.get(item.after).state]) { return; }
      if (item.ready_at > now || heldCells.has(item.cell)) { return; }
      if (batch.length < BATCH) { batch.push(item); }
    });
    return batch;
  }

  function schedule(delay) {
    window.clearTimeout(timer);
    var wait = delay;
    if (wait === undefined) {
      wait = IDLE_CHECK_MS;
      var now = Date.now();
      items.forEach(function (item) {
        if (item.state === "pending" && !heldCells.has(item.cell)) {
          wait = Math.min(wait, Math.max(50, item.ready_at - now + 20));
        }
      });
    }
    nextAttemptAt = Date.now() + wait;
    timer = window.setTimeout(sync, wait);
  }

  function backoff() {
    failures += 1;
    var delay = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, failures - 1));
    delay = Math.round(delay * (0.8 + Math.random() * 0.4));
    schedule(Math.min(MAX_BACKOFF_MS, delay));
  }

  function withLock(fn) {
    // One tab at a time sends this judge's marks for this event.
    if (navigator.locks && navigator.locks.request) {
      return navigator.locks.request("compete-tablet-sync-" + USER_ID + "-" + EVENT_ID,
        { ifAvailable: true }, function (lock) { return lock ? fn() : "busy"; });
    }
    return fn();
  }

  function sync(force) {
    if (syncing) { return; }
    if (!navigator.onLine) { renderAll(); schedule(IDLE_CHECK_MS); return; }
    if (force) {
      items.forEach(function (item) { if (item.state === "pending") { item.ready_at = 0; } });
    }
    var batch = sendable();
    if (!batch.length) { renderAll(); schedule(); return; }
    syncing = true;
    Promise.resolve(withLock(function () { return send(batch); })).then(function (outcome) {
      syncing = false;
      if (outcome === "busy") { schedule(2000); return; }
      if (outcome === "ok") {
        failures = 0;
        if (sendable().length) { schedule(0); } else { schedule(); }
      } else {
        backoff();
      }
      renderAll();
    }, function () {
      syncing = false;
      backoff();
      renderAll();
    });
  }

  function send(batch) {
    batch.forEach(function (item) {
      item.state = "syncing";
      item.attempts += 1;
      item.updated_at = Date.now();
      inflight.add(item.client_id);
    });
    renderAll();
    var body = JSON.stringify({ marks: batch.map(function (item) {
      return {
        client_id: item.client_id, code: item.code, criterion_id: item.criterion_id,
        value: item.value, base: item.base, entered_at: item.entered_at, reason: item.reason,
        device: item.device
      };
    }) });
    var finished = function () {
      batch.forEach(function (item) {
        inflight.delete(item.client_id);
        if (item.state === "syncing") { item.state = "pending"; item.ready_at = 0; }
      });
      return persist({ items: batch });
    };
    return persist({ items: batch }).then(function () {
      return fetch(MARKS_URL, {
        method: "POST", body: body, credentials: "same-origin", redirect: "manual", cache: "no-store",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() }
      });
    }).then(function (response) {
      if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
        note = text("sign-in");
        return "auth";
      }
      var type = response.headers.get("Content-Type") || "";
      if (!response.ok || type.indexOf("application/json") === -1) {
        note = text("server-error", { status: response.status || "?" });
        return "error";
      }
      return response.json().then(function (data) {
        var changed = applyResults(batch, (data && data.results) || []);
        note = "";
        return persist(changed).then(function () { return "ok"; });
      });
    }, function () {
      note = text("network-error");
      return "network";
    }).then(function (outcome) {
      return finished().then(function () { return outcome; });
    }, function (err) {
      return finished().then(function () { throw err; });
    });
  }

  function applyResults(batch, results) {
    var byId = new Map();
    results.forEach(function (r) { if (r && r.client_id) { byId.set(String(r.client_id), r); } });
    var changedItems = [];
    var changedCells = [];
    batch.forEach(function (item) {
      var r = byId.get(item.client_id);
      if (!r) { return; }                     // not answered: stays queued
      var cell = cells.get(item.cell);
      var followers = [];
      items.forEach(function (other) { if (other.after === item.client_id) { followers.push(other); } });
      item.updated_at = Date.now();
      if (r.status === "stored" || r.status === "duplicate") {
        item.state = "synced";
        item.mark_id = r.mark_id;
        item.server_value = r.value;
        item.message = null;
        if (cell) {
          cell.base = r.mark_id;
          if (cell.client_id === item.client_id && r.value) {
            var cents = toCents(r.value);
            if (cents !== null && !isNaN(cents)) { cell.value = fromCents(cents); }
          }
          changedCells.push(cell);
        }
        followers.forEach(function (f) { f.base = r.mark_id; f.after = null; changedItems.push(f); });
      } else if (r.status === "conflict" && (r.value === null || r.value === undefined)) {
        // The server asks for the mark again (two copies met): keep it queued.
        item.state = "pending";
        item.ready_at = 0;
      } else if (r.status === "conflict") {
        item.state = "conflict";
        item.server_value = r.value;
        item.message = r.message || "";
        if (cell && r.mark_id) { cell.base = r.mark_id; changedCells.push(cell); }
        if (cell && !r.mark_id) { cell.stale = true; changedCells.push(cell); }
        followers.forEach(function (f) {
          f.state = "conflict"; f.after = null; f.server_value = r.value; f.message = r.message || "";
          changedItems.push(f);
        });
      } else {
        item.state = "refused";
        item.message = r.message || "";
        followers.forEach(function (f) { f.base = item.base; f.after = null; changedItems.push(f); });
      }
      changedItems.push(item);
    });
    if (PAGE === "sheet") { refreshStaleBases(); }
    return { items: changedItems, cells: changedCells };
  }

  // A conflict does not say which mark is now the newest: read it from a fresh copy of the sheet.
  function refreshStaleBases() {
    var stale = [];
    cells.forEach(function (cell) { if (cell.stale && cell.code === CODE) { stale.push(cell); } });
    if (!stale.length) { return; }
    fetch(window.location.pathname, { credentials: "same-origin", cache: "no-store", redirect: "manual" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        stale.forEach(function (cell) {
          var fresh = doc.getElementById("crit-" + cell.criterion_id);
          var markId = fresh && fresh.getAttribute("data-mark-id");
          cell.base = markId ? Number(markId) : null;
          cell.stale = false;
          var row = rowsByKey.get(cell.key);
          if (row) {
            row.serverMarkId = cell.base;
            row.serverValue = fresh ? fresh.getAttribute("data-value") : row.serverValue;
          }
        });
        persist({ cells: stale });
        renderAll();
      }, function () { /* offline again: the next conflict answer tries again */ });
  }

  // ---- banner ------------------------------------------------------------------------------

  var banner = document.getElementById("sync-banner");
  var bannerNet = document.getElementById("sync-net");
  var bannerCount = document.getElementById("sync-count");
  var bannerNote = document.getElementById("sync-note");
  var syncNow = document.getElementById("sync-now");

  function renderBanner() {
    if (!banner) { return; }
    var online = navigator.onLine;
    banner.setAttribute("data-net", online ? "online" : "offline");
    bannerNet.textContent = online ? text("online") : text("offline");
    var open = countOpen();
    banner.setAttribute("data-waiting", String(open));
    var problems = countProblems();
    var parts = [open ? text("waiting", { num: open }) : (problems ? "" : text("all-synced"))];
    if (problems) { parts.push(text("problems", { num: problems })); }
    banner.setAttribute("data-problems", String(problems));
    bannerCount.textContent = parts.filter(Boolean).join(" · ");
    var message = storageOk ? note : text("no-storage");
    if (message && online && open && failures) {
      message += " " + text("retry", { seconds: Math.max(1, Math.round((nextAttemptAt - Date.now()) / 1000)) });
    }
    bannerNote.textContent = online || !storageOk ? message : "";
    bannerNote.hidden = !bannerNote.textContent;
  }

  // ---- the sheet ---------------------------------------------------------------------------

  var rows = [];
  var rowsByKey = new Map();

  function Row(el) {
    this.el = el;
    this.criterionId = Number(el.getAttribute("data-criterion-id"));
    this.criterionCode = el.getAttribute("data-criterion-code");
    this.key = cellKey(CODE, this.criterionId);
    this.maxCents = toCents(el.getAttribute("data-max"));
    this.stepCents = toCents(el.getAttribute("data-step")) || 1;
    var markId = el.getAttribute("data-mark-id");
    this.serverMarkId = markId ? Number(markId) : null;
    this.serverValue = el.getAttribute("data-value") || "";
    this.input = el.querySelector(".mark-input");
    this.chip = el.querySelector(".mark-status");
    this.message = el.querySelector(".row-message");
    this.reasonPanel = el.querySelector(".reason-panel");
    this.reasonInput = el.querySelector(".reason-input");
    this.error = "";
  }

  Row.prototype.cell = function () {
    var cell = cells.get(this.key);
    if (!cell) {
      cell = { key: this.key, event_id: EVENT_ID, user_id: USER_ID, code: CODE,
               criterion_id: this.criterionId, value: this.serverValue, base: this.serverMarkId,
               client_id: null, draft: false, updated_at: Date.now() };
      cells.set(this.key, cell);
    }
    return cell;
  };

  Row.prototype.parse = function (raw) {
    var s = normalise(raw);
    var limits = { min: "0", max: fromCents(this.maxCents), step: fromCents(this.stepCents) };
    if (s === "") { return { empty: true }; }
    if (/^-/.test(s)) { return { error: text("range", limits) }; }
    var cents = toCents(s);
    if (cents === null) { return { error: text("not-number") }; }
    if (isNaN(cents)) { return { error: text("step", limits) }; }
    if (cents < 0 || cents > this.maxCents) { return { error: text("range", limits) }; }
    if (cents % this.stepCents !== 0) { return { error: text("step", limits) }; }
    return { cents: cents, value: fromCents(cents) };
  };

  // The value the server holds for this cell as far as this tablet knows (null: none).
  Row.prototype.syncedValue = function () {
    var cell = cells.get(this.key);
    var latest = null;
    if (cell) {
      itemsOfCell(this.key).forEach(function (item) { if (item.state === "synced") { latest = item; } });
    }
    if (latest && (this.serverMarkId === null || latest.mark_id >= this.serverMarkId)) {
      var cents = toCents(latest.server_value || latest.value);
      return cents === null || isNaN(cents) ? latest.value : fromCents(cents);
    }
    return this.serverMarkId !== null ? this.serverValue : null;
  };

  Row.prototype.state = function () {
    if (this.error) { return "unsaved"; }
    var cell = cells.get(this.key);
    if (cell && cell.draft) { return "unsaved"; }
    var item = cell && cell.client_id ? items.get(cell.client_id) : null;
    if (item) {
      if (item.state === "pending") { return "local"; }
      return item.state;
    }
    return this.serverMarkId !== null || (cell && cell.base !== null && cell.base !== undefined) ? "synced" : "empty";
  };

  Row.prototype.render = function () {
    var state = this.state();
    var cell = cells.get(this.key);
    var item = cell && cell.client_id ? items.get(cell.client_id) : null;
    this.chip.setAttribute("data-state", state);
    this.chip.textContent = state === "empty" ? "" : text(state);
    this.el.setAttribute("data-state", state);
    var message = this.error;
    if (!message && item && (item.state === "conflict" || item.state === "refused")) {
      message = item.message || "";
      if (item.state === "conflict" && item.server_value && !message) {
        message += (message ? " " : "") + text("server-value", { value: item.server_value });
      }
    }
    this.message.textContent = message;
    this.message.hidden = !message;
    this.message.classList.toggle("error", Boolean(this.error) || state === "refused" || state === "conflict");
    var askReason = Boolean(cell && (cell.draft || (item && item.state === "conflict")));
    this.reasonPanel.hidden = !askReason;
    var hint = this.reasonPanel.querySelector(".reason-hint");
    if (askReason && !hint) {
      hint = document.createElement("p");
      hint.className = "reason-hint muted";
      this.reasonPanel.insertBefore(hint, this.reasonPanel.firstChild);
    }
    if (hint) {
      hint.textContent = item && item.state === "conflict" && !(cell && cell.draft) ? text("reason-conflict") : text("reason-needed");
    }
  };

  // Does a new value for this cell correct a mark that may already be on the server?
  Row.prototype.needsReason = function () {
    var cell = this.cell();
    var open = openItemOf(this.key);
    if (open) {
      return open.attempts > 0 || inflight.has(open.client_id) || open.base !== null || Boolean(open.after);
    }
    var item = cell.client_id ? items.get(cell.client_id) : null;
    if (item && item.state === "conflict") { return true; }
    if (item && item.state === "refused") { return item.base !== null; }
    return cell.base !== null && cell.base !== undefined;
  };

  // The judge typed or stepped: keep the value on the tablet at once.
  Row.prototype.edit = function (commitNow) {
    var self = this;
    var parsed = this.parse(this.input.value);
    var cell = this.cell();
    if (parsed.error) {
      this.error = parsed.error;
      heldCells.add(this.key);           // a half-typed value must not let the old one go out
      this.render();
      renderTotals();
      return;
    }
    this.error = "";
    heldCells.delete(this.key);
    if (parsed.empty) {
      // Clearing withdraws a mark only while it has never left the tablet.
      var open = openItemOf(this.key);
      if (open && open.attempts === 0 && !inflight.has(open.client_id)) {
        items.delete(open.client_id);
        cell.client_id = null;
        cell.value = "";
        cell.draft = false;
        persist({ dropItems: [open.client_id], cells: [cell] }).then(function () { self.render(); renderAll(); });
      } else if (cell.draft) {
        cell.draft = false;
        persist({ cells: [cell] });
      }
      this.render();
      renderTotals();
      return;
    }
    var open2 = openItemOf(this.key);
    if (open2 && open2.attempts === 0 && !inflight.has(open2.client_id)) {
      // Not sent yet: the new value replaces it (same base and reason).
      if (open2.value !== parsed.value) {
        open2.value = parsed.value;
        open2.entered_at = isoNow();
        open2.updated_at = Date.now();
      }
      open2.ready_at = commitNow ? 0 : Date.now() + GRACE_MS;
      cell.value = parsed.value;
      cell.draft = false;
      this.save(open2, cell);
      return;
    }
    var item = cell.client_id ? items.get(cell.client_id) : null;
    var known = open2 ? open2.value : this.syncedValue();
    if (!open2 && item && item.state === "conflict") { known = item.server_value; }
    if (known !== null && known !== undefined && toCents(known) === parsed.cents) {
      // Back to the value the server has (or is about to get): nothing to correct.
      if (!open2 && item && (item.state === "conflict" || item.state === "refused")) {
        cell.client_id = null;             // the judge accepts the server's mark
      }
      cell.draft = false;
      cell.value = parsed.value;
      persist({ cells: [cell] });
      this.render();
      renderAll();
      return;
    }
    if (this.needsReason()) {
      cell.draft = true;                 // kept, but not queued until a reason is given
      cell.value = parsed.value;
      cell.updated_at = Date.now();
      persist({ cells: [cell] });
      this.render();
      renderTotals();
      return;
    }
    var fresh = newItem(cell, parsed.value, null, cell.base === undefined ? null : cell.base, null);
    if (commitNow) { fresh.ready_at = 0; }
    cell.value = parsed.value;
    cell.draft = false;
    cell.client_id = fresh.client_id;
    this.save(fresh, cell);
  };

  Row.prototype.save = function (item, cell) {
    var self = this;
    items.set(item.client_id, item);
    cell.client_id = item.client_id;
    cell.updated_at = Date.now();
    // The chip says "saved on device" only once IndexedDB has it.
    persist({ items: [item], cells: [cell] }).then(function () {
      self.render();
      renderAll();
      schedule(Math.max(0, item.ready_at - Date.now()) + 20);
    });
    renderTotals();
  };

  Row.prototype.saveCorrection = function () {
    var parsed = this.parse(this.input.value);
    if (parsed.error || parsed.empty) {
      this.error = parsed.error || text("not-number");
      this.render();
      return;
    }
    var reason = this.reasonInput.value.trim();
    if (!reason) {
      this.error = text("reason-empty");
      this.render();
      this.reasonInput.focus();
      return;
    }
    this.error = "";
    var cell = this.cell();
    var open = openItemOf(this.key);
    var fresh;
    if (open) {
      // Sent before (maybe stored): the correction follows it and takes its mark as base.
      fresh = newItem(cell, parsed.value, reason, null, open.client_id);
    } else {
      fresh = newItem(cell, parsed.value, reason, cell.base === undefined ? null : cell.base, null);
    }
    fresh.ready_at = 0;
    cell.value = parsed.value;
    cell.draft = false;
    this.reasonInput.value = "";
    this.save(fresh, cell);
  };

  Row.prototype.cancelCorrection = function () {
    var cell = this.cell();
    var item = cell.client_id ? items.get(cell.client_id) : null;
    var open = openItemOf(this.key);
    var back = open ? open.value : this.syncedValue();
    if (item && item.state === "conflict" && item.server_value) {
      var cents = toCents(item.server_value);
      back = cents === null || isNaN(cents) ? null : fromCents(cents);
      if (back !== null && !open) { cell.client_id = null; }   // accept the server's mark
    }
    cell.draft = false;
    cell.value = back || "";
    this.input.value = back || "";
    this.error = "";
    heldCells.delete(this.key);
    this.reasonInput.value = "";
    persist({ cells: [cell] });
    this.render();
    renderAll();
  };

  Row.prototype.step = function (direction) {
    var parsed = this.parse(this.input.value);
    var cents;
    if (parsed.empty || parsed.error) {
      var raw = toCents(normalise(this.input.value));
      if (raw === null || isNaN(raw)) {
        cents = direction > 0 ? this.stepCents : 0;
      } else {
        cents = Math.floor(raw / this.stepCents) * this.stepCents + (direction > 0 ? this.stepCents : 0);
      }
    } else {
      cents = parsed.cents + direction * this.stepCents;
    }
    cents = Math.max(0, Math.min(this.maxCents, cents));
    this.input.value = fromCents(cents);
    this.edit(false);
  };

  // On load: what the server rendered, overlaid with what this tablet still holds.
  Row.prototype.restore = function () {
    var cell = cells.get(this.key);
    if (!cell) { return; }
    var item = cell.client_id ? items.get(cell.client_id) : null;
    var unsynced = cell.draft || (item && item.state !== "synced");
    if (unsynced) {
      this.input.value = cell.value || "";
      if (cell.stale) { cell.base = this.serverMarkId; cell.stale = false; }
      return;
    }
    if (item && item.state === "synced" && (this.serverMarkId === null || item.mark_id >= this.serverMarkId)) {
      // This copy of the page is older than the tablet's own synced mark (served from cache).
      this.input.value = cell.value || "";
      cell.base = item.mark_id;
      return;
    }
    // The server holds a newer mark (or the tablet has nothing of its own): show the server's.
    cell.base = this.serverMarkId;
    cell.value = this.serverValue;
    cell.client_id = null;
  };

  function renderTotals() {
    var total = document.getElementById("sheet-total");
    if (!total) { return; }
    var sum = 0;
    rows.forEach(function (row) {
      var parsed = row.parse(row.input.value);
      if (parsed.cents !== undefined) { sum += parsed.cents; }
    });
    total.textContent = fromCents(sum);
  }

  function renderCards() {
    Array.prototype.forEach.call(root.querySelectorAll(".code-card[data-code]"), function (card) {
      var code = card.getAttribute("data-code");
      var local = card.querySelector(".card-local");
      var open = countOpen(code);
      var problems = countProblems(code);
      var parts = [];
      if (open) { parts.push(text("card-waiting", { num: open })); }
      if (problems) { parts.push(text("problems", { num: problems })); }
      local.textContent = parts.join(" · ");
      local.hidden = !parts.length;
      card.classList.toggle("has-local", Boolean(open));
      card.classList.toggle("has-problem", Boolean(problems));
    });
  }

  function renderAll() {
    rows.forEach(function (row) { row.render(); });
    renderTotals();
    renderCards();
    renderBanner();
  }

  function unsyncedWork() {
    var dirty = countOpen() > 0;
    rows.forEach(function (row) { if (row.state() === "unsaved") { dirty = true; } });
    return dirty;
  }

  function initSheet() {
    Array.prototype.forEach.call(root.querySelectorAll(".crit-row"), function (el) {
      var row = new Row(el);
      rows.push(row);
      rowsByKey.set(row.key, row);
      row.input.addEventListener("input", function () { row.edit(false); });
      row.input.addEventListener("change", function () { row.edit(true); });
      row.input.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter") {
          ev.preventDefault();
          var next = rows[rows.indexOf(row) + 1];
          if (next) { next.input.focus(); } else { row.input.blur(); }
        }
      });
      Array.prototype.forEach.call(el.querySelectorAll("[data-step-dir]"), function (button) {
        button.addEventListener("click", function () { row.step(Number(button.getAttribute("data-step-dir"))); });
      });
      el.querySelector(".reason-save").addEventListener("click", function () { row.saveCorrection(); });
      el.querySelector(".reason-cancel").addEventListener("click", function () { row.cancelCorrection(); });
      row.reasonInput.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter") { ev.preventDefault(); row.saveCorrection(); }
      });
    });
    rows.forEach(function (row) { row.restore(); });
  }

  // ---- offline pages -----------------------------------------------------------------------

  function registerServiceWorker() {
    if (!("serviceWorker" in navigator) || !SW_URL) { return; }
    navigator.serviceWorker.register(SW_URL, { scope: SW_SCOPE || undefined }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      var worker = registration.active;
      if (!worker) { return; }
      var assets = [];
      Array.prototype.forEach.call(document.querySelectorAll('link[rel="stylesheet"][href], link[rel="icon"][href], script[src], img[src]'), function (node) {
        assets.push(node.href || node.src);
      });
      var channel = new MessageChannel();
      channel.port1.onmessage = function (ev) {
        if (ev.data && ev.data.ok) {
          document.documentElement.setAttribute("data-offline-ready", "1");
          var ready = document.getElementById("sync-ready");
          if (ready) { ready.hidden = false; }
        }
      };
      worker.postMessage({
        type: "cache",
        // Before the worker controlled this tab, its own request went past it: the worker
        // fetches it once more (when it controlled the tab, it already kept a copy).
        pages: [window.location.href.split("#")[0]],
        assets: assets,
        offlineText: text("offline-page")
      }, [channel.port2]);
    }).then(null, function () { /* no service worker (e.g. plain http on the LAN): online only */ });
  }

  // ---- start -------------------------------------------------------------------------------

  window.addEventListener("online", function () { failures = 0; note = ""; renderBanner(); sync(true); });
  window.addEventListener("offline", function () { renderBanner(); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { sync(); }
  });
  window.addEventListener("beforeunload", function (ev) {
    if (unsyncedWork()) {
      ev.preventDefault();
      ev.returnValue = text("leave");
      return ev.returnValue;
    }
    return undefined;
  });
  if (syncNow) {
    syncNow.addEventListener("click", function () { failures = 0; sync(true); });
  }

  load().then(function () {
    if (PAGE === "sheet") { initSheet(); }
    renderAll();
    root.setAttribute("data-ready", "1");
    sync(true);
  });
  registerServiceWorker();
})();

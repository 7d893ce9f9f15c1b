// Service worker of the judges' tablet pages (served as /tablet/sw.js, scope /tablet/).
// Pages: network first, the last copy seen when offline. /static/: from the cache, refreshed
// in the background. Only GET requests are touched: marks (POST) always go to the network.
"use strict";

var CACHE = "compete-tablet-v1";
var OFFLINE_KEY = new URL("__offline__", self.registration.scope).href;

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) {
      return key.indexOf("compete-tablet-") === 0 && key !== CACHE;
    }).map(function (key) { return caches.delete(key); }));
  }).then(function () { return self.clients.claim(); }));
});

function cacheable(response) {
  // Not a redirect (a signed-out tablet is sent to /login: that page must not stand in).
  return Boolean(response) && response.status === 200 && response.type === "basic" && !response.redirected;
}

function isStatic(url) {
  return url.origin === self.location.origin && url.pathname.indexOf("/static/") === 0;
}

function inScope(url) {
  var base = new URL(self.registration.scope).pathname;
  // Pairing pages carry a one-time code: never kept.
  return url.href.indexOf(self.registration.scope) === 0 && url.pathname !== base + "sw.js" &&
    url.pathname.indexOf(base + "pair/") !== 0;
}

function fromNetworkAndKeep(request, cache) {
  return fetch(request).then(function (response) {
    if (cacheable(response)) { cache.put(request, response.clone()); }
    return response;
  });
}

function cacheFirst(event) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(event.request, { ignoreVary: true }).then(function (hit) {
      var refresh = fromNetworkAndKeep(event.request, cache);
      if (hit) {
        event.waitUntil(refresh.then(null, function () { return null; }));
        return hit;
      }
      return refresh;
    });
  });
}

function offlinePage(cache) {
  return cache.match(OFFLINE_KEY).then(function (page) {
    return page || new Response("Offline", { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } });
  });
}

function networkFirst(event) {
  return caches.open(CACHE).then(function (cache) {
    return fromNetworkAndKeep(event.request, cache).then(null, function () {
      return cache.match(event.request, { ignoreVary: true }).then(function (hit) {
        return hit || offlinePage(cache);
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (isStatic(url)) {
    event.respondWith(cacheFirst(event));
    return;
  }
  if (url.origin !== self.location.origin || !inScope(url)) { return; }
  var accept = request.headers.get("Accept") || "";
  if (request.mode === "navigate" || accept.indexOf("text/html") !== -1) {
    event.respondWith(networkFirst(event));
  }
});

function escapeHtml(value) {
  return String(value).replace(/[&<>"]/g, function (ch) {
    return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;" }[ch];
  });
}

// A tablet page asks to keep itself (opened before this worker controlled it) and its assets.
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "cache") { return; }
  var port = event.ports && event.ports[0];
  var work = caches.open(CACHE).then(function (cache) {
    var jobs = [];
    (data.assets || []).forEach(function (href) {
      var url = new URL(href, self.location.href);
      if (!isStatic(url)) { return; }
      jobs.push(cache.match(url.href, { ignoreVary: true }).then(function (hit) {
        return hit || fetch(url.href, { credentials: "same-origin" }).then(function (response) {
          if (cacheable(response)) { return cache.put(url.href, response); }
          return null;
        });
      }));
    });
    (data.pages || []).forEach(function (href) {
      var url = new URL(href, self.location.href);
      if (url.origin !== self.location.origin || !inScope(url)) { return; }
      jobs.push(cache.match(url.href, { ignoreVary: true }).then(function (hit) {
        return hit || fetch(url.href, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (response) {
          if (cacheable(response)) { return cache.put(url.href, response); }
          throw new Error("page not cached: " + response.status);
        });
      }));
    });
    if (data.offlineText) {
      var html = "<!doctype html><html><head><meta charset=\"utf-8\">" +
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">" +
        "<link rel=\"stylesheet\" href=\"/static/css/app.css\"><link rel=\"stylesheet\" href=\"/static/css/tablet.css\">" +
        "<title>compete</title></head><body class=\"tablet\"><main class=\"container\">" +
        "<p class=\"alert alert-error\">" + escapeHtml(data.offlineText) + "</p></main></body></html>";
      jobs.push(cache.put(OFFLINE_KEY, new Response(html, {
        status: 503, headers: { "Content-Type": "text/html; charset=utf-8" }
      })));
    }
    return Promise.all(jobs);
  }).then(function () {
    if (port) { port.postMessage({ ok: true }); }
  }, function (error) {
    if (port) { port.postMessage({ ok: false, error: String(error) }); }
  });
  event.waitUntil(work);
});

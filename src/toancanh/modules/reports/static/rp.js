// Shared helpers of the field-report pages: messages, escaping, JSON calls with the CSRF header, the
// area map (boundaries without tiles work offline), a grid clusterer, and "my reports" on this phone.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "vi";

  function strings() {
    var el = document.getElementById("rp-i18n");
    try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
  }
  var T = strings();

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; }
    catch (e) { return ""; }
  }

  // The server's error body is {"error": {"message", "message_en", "details"}}.
  function errorText(body, fallback) {
    var e = body && body.error;
    if (!e) return fallback || T.error || "Error";
    var text = lang === "en" ? (e.message_en || e.message) : (e.message || e.message_en);
    if (e.code === "validation_error" && e.details && e.details.length) {
      text += ": " + e.details.map(function (d) { return d.loc[d.loc.length - 1]; }).join(", ");
    }
    return text;
  }

  // fetch() that resolves to the JSON body and rejects with a readable message.
  function send(method, url, body) {
    var headers = { Accept: "application/json" };
    var token = csrf();
    if (token) headers["X-CSRF-Token"] = token;
    var payload = body;
    if (body && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    return fetch(url, { method: method, headers: headers, body: payload, credentials: "same-origin" })
      .then(function (r) {
        return r.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
          if (!r.ok) throw new Error(errorText(data, T.error + " (" + r.status + ")"));
          return data;
        });
      }, function () { throw new Error(T.offline || T.error || "Offline"); });
  }

  // "22/11/2026" in Vietnam's time zone, whatever the phone's settings.
  var dayFmt = new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Ho_Chi_Minh", day: "2-digit", month: "2-digit", year: "numeric" });
  function day(iso) { return iso ? dayFmt.format(new Date(iso)) : ""; }

  function show(el, text) {
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
  }

  // ---- maps ----
  var areaPromise = null;
  function area() {
    if (!areaPromise) {
      areaPromise = fetch("/api/v1/reports/area", { headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error("area " + r.status); return r.json(); });
    }
    return areaPromise;
  }

  // A Leaflet map with the optional tile layer and the outline of the communes and hamlets served.
  function areaMap(el, opts) {
    opts = opts || {};
    var map = L.map(el, { zoomControl: true, attributionControl: false, maxZoom: 19 });
    if (el.dataset.tileUrl) L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
    map.setView(opts.center || [20.935, 105.82], opts.zoom || 14, { animate: false });
    map.whenArea = area().then(function (fc) {
      var hamlets = fc.features.filter(function (f) { return f.properties.level >= 3; });
      var communes = fc.features.filter(function (f) { return f.properties.level < 3; });
      L.geoJSON({ type: "FeatureCollection", features: hamlets }, {
        interactive: false,
        style: { color: "#5b82a8", weight: 1.5, fillColor: "#8fb6d9", fillOpacity: 0.12, dashArray: "4 3" },
        onEachFeature: function (f, layer) {
          if (opts.labels) layer.bindTooltip(esc(f.properties.name), { permanent: true, direction: "center", className: "rp-area-label" });
        }
      }).addTo(map);
      var outline = L.geoJSON({ type: "FeatureCollection", features: communes },
        { interactive: false, style: { color: "#0a5cad", weight: 3, fill: false } }).addTo(map);
      if (outline.getLayers().length) {
        map.areaBounds = outline.getBounds();
        if (opts.fit !== false) map.fitBounds(map.areaBounds, { padding: [8, 8], animate: false });
      }
      el.dataset.boundaries = String(fc.features.length);
      return fc;
    }).catch(function () { el.dataset.boundaries = "0"; return { features: [] }; });
    return map;
  }

  function inRing(x, y, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }
  function inGeometry(lon, lat, g) {
    var polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
    return polys.some(function (p) {
      return inRing(lon, lat, p[0]) && !p.slice(1).some(function (hole) { return inRing(lon, lat, hole); });
    });
  }
  // The most specific area (hamlet before commune) containing the point, or null.
  function placeOf(fc, lat, lon) {
    var found = (fc.features || []).filter(function (f) { return f.geometry && inGeometry(lon, lat, f.geometry); });
    found.sort(function (a, b) { return b.properties.level - a.properties.level; });
    return found.length ? found[0].properties : null;
  }

  // Points grouped on a pixel grid at the current zoom: one marker per cell, with a count when several.
  // `points`: [{lat, lon, cls, color, popup}] (popup is HTML, already escaped). Returns {setPoints, layer}.
  function cluster(map, el, points, opts) {
    opts = opts || {};
    var cell = opts.cell || 60;
    var rank = opts.rank || function () { return 0; };
    var layer = L.layerGroup().addTo(map);
    function draw() {
      layer.clearLayers();
      var z = map.getZoom(), cells = {}, groups = 0, singles = 0;
      points.forEach(function (p) {
        var px = map.project([p.lat, p.lon], z);
        var key = Math.floor(px.x / cell) + ":" + Math.floor(px.y / cell);
        (cells[key] = cells[key] || []).push(p);
      });
      Object.keys(cells).forEach(function (key) {
        var g = cells[key];
        if (g.length === 1) {
          singles += 1;
          var p = g[0];
          L.circleMarker([p.lat, p.lon], { radius: 8, weight: 2, color: "#fff", fillColor: p.color || "#0a5cad", fillOpacity: 0.95, className: "rp-pt " + p.cls })
            .bindPopup(p.popup).addTo(layer);
          return;
        }
        groups += 1;
        var lat = 0, lon = 0, worst = g[0];
        g.forEach(function (p) { lat += p.lat; lon += p.lon; if (rank(p) > rank(worst)) worst = p; });
        var size = g.length < 10 ? 34 : g.length < 100 ? 42 : 50;
        var m = L.marker([lat / g.length, lon / g.length], {
          icon: L.divIcon({ className: "rp-cluster " + worst.cls, html: "<span>" + g.length + "</span>", iconSize: [size, size] }),
          keyboard: true, title: String(g.length)
        }).addTo(layer);
        var bounds = L.latLngBounds(g.map(function (p) { return [p.lat, p.lon]; }));
        var same = bounds.getNorthEast().equals(bounds.getSouthWest(), 1e-6);
        if (same || z >= map.getMaxZoom()) {
          m.bindPopup(g.map(function (p) { return p.popup; }).join("<hr>"), { maxHeight: 260 });
        } else {
          m.on("click", function () { map.fitBounds(bounds, { padding: [50, 50], maxZoom: Math.min(z + 4, map.getMaxZoom()) }); });
        }
      });
      el.dataset.clusters = String(groups);
      el.dataset.points = String(points.length);
      el.dataset.singles = String(singles);
    }
    map.on("zoomend", draw);
    draw();
    return { layer: layer, setPoints: function (list) { points = list; draw(); } };
  }

  // ---- photos ----
  // Phone photos are 3-12 MB: send them at 1920 px. Canvas re-encoding drops EXIF, so with `keepExif`
  // (no location given: the server reads the place from the photo) a photo is sent whole unless too large.
  var MAX_SIDE = 1920, SMALL_BYTES = 1500000, SERVER_LIMIT = 7500000;
  function shrink(file, keepExif) {
    if (!window.createImageBitmap || (keepExif && file.size <= SERVER_LIMIT)) return Promise.resolve(file);
    return createImageBitmap(file).then(function (bmp) {
      var side = Math.max(bmp.width, bmp.height);
      if (side <= MAX_SIDE && file.size <= SMALL_BYTES) { if (bmp.close) bmp.close(); return file; }
      var k = Math.min(1, MAX_SIDE / side);
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bmp.width * k);
      canvas.height = Math.round(bmp.height * k);
      canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
      if (bmp.close) bmp.close();
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) { resolve(blob || file); }, "image/jpeg", 0.85);
      });
    }).catch(function () { return file; });
  }

  // ---- my reports (tracking codes kept on this phone only) ----
  var MINE = "tc.reports";
  function mine() {
    try { return JSON.parse(localStorage.getItem(MINE) || "[]"); } catch (e) { return []; }
  }
  function remember(code, label) {
    try {
      var list = mine().filter(function (x) { return x.code !== code; });
      list.unshift({ code: code, label: label || "", at: new Date().toISOString() });
      localStorage.setItem(MINE, JSON.stringify(list.slice(0, 20)));
    } catch (e) { /* private mode: nothing kept */ }
  }
  function showMine() {
    var box = document.getElementById("mine"), ul = document.getElementById("mine-list");
    var list = mine();
    if (!box || !ul || !list.length) return;
    ul.innerHTML = list.map(function (x) {
      return '<li><a href="/phan-anh/tra-cuu/' + encodeURIComponent(x.code) + '"><b>' + esc(x.code) + "</b></a> <span>" +
        esc(x.label) + '</span> <small>' + esc(day(x.at)) + "</small></li>";
    }).join("");
    box.hidden = false;
  }

  window.RP = {
    T: T, lang: lang, esc: esc, day: day, csrf: csrf, send: send, show: show, errorText: errorText,
    area: area, areaMap: areaMap, shrink: shrink, placeOf: placeOf, cluster: cluster, remember: remember, showMine: showMine
  };
})();

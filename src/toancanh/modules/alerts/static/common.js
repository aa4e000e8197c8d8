// Shared helpers of the alert pages: the page's boot data, escaping, JSON calls with the CSRF header and the
// bilingual error body, Vietnam-time formats, the live stream, and the area map (boundaries, no tiles needed).
(function () {
  "use strict";
  var lang = document.documentElement.lang || "vi";
  var SEV_COLORS = { extreme: "#8b0000", severe: "#e03131", moderate: "#f08c00", minor: "#f5c800", unknown: "#7f93a6" };
  var SEV_RANK = { unknown: 0, minor: 1, moderate: 2, severe: 3, extreme: 4 };

  function boot() {
    var el = document.getElementById("al-boot");
    try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
  }

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) return meta.content;
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; }
    catch (e) { return ""; }
  }

  // The server's error body is {"error": {"message", "message_en", "details"}}; request validation errors
  // carry details [{loc: [...], msg}], rule errors [{loc: "when.op", msg, msg_vi}].
  function errorText(body, fallback) {
    var e = body && body.error;
    if (!e) return fallback || "Error";
    return lang === "en" ? (e.message_en || e.message) : (e.message || e.message_en);
  }

  function ApiError(message, status, body) {
    this.message = message;
    this.status = status;
    this.body = body;
  }
  ApiError.prototype = Object.create(Error.prototype);

  // fetch() resolving to the JSON body; rejects with an ApiError (message in the page's language).
  function send(method, url, body, msg) {
    msg = msg || {};
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
          if (!r.ok) throw new ApiError(errorText(data, (msg.error || "Error") + " (" + r.status + ")"), r.status, data);
          return data;
        });
      }, function () { throw new ApiError(msg.offline || "Offline", 0, null); });
  }

  function getJSON(url) { return send("GET", url); }

  var fmtTime = new Intl.DateTimeFormat("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  var fmtShort = new Intl.DateTimeFormat("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", hour12: false });
  var fmtDate = new Intl.DateTimeFormat("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
  function time(iso) { return iso ? fmtTime.format(new Date(iso)) : ""; }
  function shortTime(iso) { return iso ? fmtShort.format(new Date(iso)) : ""; }
  function dateTime(iso) { return iso ? fmtDate.format(new Date(iso)) : ""; }
  function today(iso) {
    if (!iso) return false;
    var d = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Ho_Chi_Minh" });
    return d.format(new Date(iso)) === d.format(new Date());
  }

  // "12 phút", "3 giờ 5 phút": a duration in whole minutes for countdowns and ages.
  function duration(ms) {
    var m = Math.max(0, Math.round(Math.abs(ms) / 60000));
    var vi = lang !== "en";
    if (m < 60) return m + (vi ? " phút" : " min");
    var h = Math.floor(m / 60), r = m % 60;
    if (h < 48) return h + (vi ? " giờ" : " h") + (r ? " " + r + (vi ? " phút" : " min") : "");
    return Math.floor(h / 24) + (vi ? " ngày" : " d");
  }

  // The live stream: calls onEvent({subject, data, ...}) for each event; `dot` shows the connection.
  // The browser resends the last event id when it reconnects by itself and the server replays what was
  // missed; after a closed stream we pass it ourselves. If the server no longer knows it ("reset"), the page
  // reloads to start from a true picture.
  function live(subjects, onEvent, onState) {
    var es = null, timer = null, lastId = "";
    function connect() {
      var url = "/api/v1/events/stream?subjects=" + encodeURIComponent(subjects);
      if (lastId) url += "&last_event_id=" + encodeURIComponent(lastId);
      es = new EventSource(url);
      es.addEventListener("reset", function () { setTimeout(function () { location.reload(); }, 1000); });
      es.onopen = function () { if (onState) onState(true); };
      es.onerror = function () {
        if (onState) onState(false);
        if (es.readyState === 2) { // closed for good (e.g. the session ended): try again later
          clearTimeout(timer);
          timer = setTimeout(connect, 5000);
        }
      };
      es.onmessage = function (m) {
        var ev;
        if (m.lastEventId) lastId = m.lastEventId;
        try { ev = JSON.parse(m.data); } catch (e) { return; }
        onEvent(ev);
      };
    }
    connect();
    return { close: function () { if (es) es.close(); clearTimeout(timer); } };
  }

  // A Leaflet map with the optional tiles and the outline of the communes and hamlets in the caller's scope.
  function areaMap(el, opts) {
    opts = opts || {};
    var map = L.map(el, { zoomControl: true, attributionControl: false, maxZoom: 19, preferCanvas: false });
    if (el.dataset.tileUrl) L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
    map.setView(opts.center || [20.935, 105.82], opts.zoom || 14, { animate: false });
    map.whenArea = getJSON("/api/v1/units/geojson").then(function (fc) {
      var hamlets = fc.features.filter(function (f) { return f.properties.level >= 3; });
      var communes = fc.features.filter(function (f) { return f.properties.level < 3; });
      L.geoJSON({ type: "FeatureCollection", features: hamlets }, {
        interactive: false,
        style: { color: "#3b6f96", weight: 1, fillColor: "#143954", fillOpacity: 0.35 },
        onEachFeature: function (f, layer) {
          if (opts.labels) layer.bindTooltip(esc(f.properties.name), { permanent: true, direction: "center", className: "hamlet-label" });
        }
      }).addTo(map);
      var outline = L.geoJSON({ type: "FeatureCollection", features: communes },
        { interactive: false, style: { color: "#2fb7ff", weight: 3, fill: false } }).addTo(map);
      if (outline.getLayers().length) {
        map.areaBounds = outline.getBounds();
        if (opts.fit !== false) map.fitBounds(map.areaBounds, { padding: [8, 8], animate: false });
      }
      el.dataset.boundaries = String(fc.features.length);
      return fc;
    }).catch(function () { el.dataset.boundaries = "0"; return { features: [] }; });
    return map;
  }

  // Cameras and sensors in scope as small dots; resolves to {id: properties}.
  function devices(map, el, msg) {
    var COL = { camera: "#2fb7ff", sensor: "#35d07f" };
    return getJSON("/api/v1/assets?type=camera,sensor").then(function (fc) {
      var byId = {};
      L.geoJSON(fc, {
        pointToLayer: function (f, latlng) {
          var off = f.properties.status === "offline";
          return L.circleMarker(latlng, { radius: 4, weight: off ? 2 : 1, color: off ? "#ff5d5d" : "#08131f",
            fillColor: COL[f.properties.type] || "#9bb", fillOpacity: 0.9 });
        },
        onEachFeature: function (f, layer) {
          var p = f.properties;
          byId[f.id != null ? f.id : p.id] = p;
          layer.bindPopup("<b>" + esc(p.name) + "</b><br>" + esc((msg && msg[p.type]) || p.type) + " · " + esc(p.code || "") + " · " + esc(p.status || ""));
        }
      }).addTo(map);
      el.dataset.assets = String(fc.features.length);
      return byId;
    }).catch(function () { el.dataset.assets = "0"; return {}; });
  }

  window.AL = {
    lang: lang, boot: boot, esc: esc, csrf: csrf, send: send, getJSON: getJSON, errorText: errorText,
    time: time, shortTime: shortTime, dateTime: dateTime, today: today, duration: duration, live: live,
    areaMap: areaMap, devices: devices, SEV_COLORS: SEV_COLORS, SEV_RANK: SEV_RANK
  };
})();

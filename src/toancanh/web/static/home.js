// The control-room home: the map (boundary, hamlets, assets), the live ticker (SSE) and the charts.
(function () {
  "use strict";
  var COLORS = { camera: "#2fb7ff", sensor: "#35d07f", school: "#ffd166", kitchen: "#f78c6b",
                 waste_point: "#c38bff", hydrant: "#ff5d5d", other: "#9bb" };

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(url + " " + r.status); return r.json(); });
  }

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // A fan from a camera along its view direction (degrees clockwise from north), `range` metres long.
  function cameraCone(lat, lon, dir, fov, range) {
    var pts = [[lat, lon]], half = fov / 2, mLat = 111320, mLon = 111320 * Math.cos(lat * Math.PI / 180);
    for (var i = 0; i <= 12; i++) {
      var b = (dir - half + (fov * i) / 12) * Math.PI / 180;
      pts.push([lat + (range * Math.cos(b)) / mLat, lon + (range * Math.sin(b)) / mLon]);
    }
    return pts;
  }

  // ---- map ----
  var mapEl = document.getElementById("map");
  if (mapEl && window.L) {
    var map = L.map(mapEl, { zoomControl: true, attributionControl: false, preferCanvas: true });
    window.tcMap = map;
    var tileUrl = mapEl.dataset.tileUrl;
    if (tileUrl) { L.tileLayer(tileUrl, { maxZoom: 19 }).addTo(map); }
    map.setView([20.935, 105.83], 13);
    var lbl = function (k) { return mapEl.getAttribute("data-l-" + k) || k; };
    getJSON("/api/v1/units/geojson").then(function (fc) {
      var communes = { type: "FeatureCollection", features: fc.features.filter(function (f) { return f.properties.level <= 2; }) };
      var hamlets = { type: "FeatureCollection", features: fc.features.filter(function (f) { return f.properties.level === 3; }) };
      L.geoJSON(hamlets, {
        style: { color: "#3b6f96", weight: 1, fillColor: "#143954", fillOpacity: 0.55 },
        onEachFeature: function (f, layer) {
          layer.bindTooltip(esc(f.properties.name), { permanent: true, direction: "center", className: "hamlet-label" });
          layer.bindPopup("<b>" + esc(f.properties.name) + "</b><br>" + esc(f.properties.kind) +
            (f.properties.population ? "<br>" + f.properties.population.toLocaleString("vi-VN") : ""));
        }
      }).addTo(map);
      var outline = L.geoJSON(communes, { style: { color: "#2fb7ff", weight: 3, fill: false } }).addTo(map);
      if (outline.getLayers().length) { map.fitBounds(outline.getBounds(), { padding: [10, 10] }); }
      mapEl.dataset.boundaries = String(fc.features.length);
    }).catch(function (e) { console.error(e); });
    getJSON("/api/v1/assets?format=geojson").then(function (fc) {
      L.geoJSON(fc, {
        pointToLayer: function (f, latlng) {
          var t = f.properties.type, off = f.properties.status === "offline";
          return L.circleMarker(latlng, { radius: t === "school" ? 7 : 5, weight: off ? 2 : 1,
            color: off ? "#ff5d5d" : "#08131f", fillColor: COLORS[t] || COLORS.other, fillOpacity: 0.95 });
        },
        onEachFeature: function (f, layer) {
          var p = f.properties;
          layer.bindPopup("<b>" + esc(p.name) + "</b><br>" + esc(lbl(p.type)) + " · " + esc(p.status));
        }
      }).addTo(map);
      mapEl.dataset.assets = String(fc.features.length);
    }).catch(function (e) { console.error(e); });
    // Cameras of the registry (the cameras module, when enabled): their view cones under the markers.
    getJSON("/api/v1/cameras?format=geojson").then(function (fc) {
      var cones = L.layerGroup();
      fc.features.forEach(function (f) {
        var p = f.properties, lon = f.geometry.coordinates[0], lat = f.geometry.coordinates[1];
        if (p.direction_deg === null || p.direction_deg === undefined) return;
        var color = p.status === "offline" ? "#ff5d5d" : COLORS.camera;
        cones.addLayer(L.polygon(cameraCone(lat, lon, p.direction_deg, p.fov_deg || 90, p.range_m || 60),
          { color: color, weight: 1, fillColor: color, fillOpacity: 0.22, interactive: false }));
      });
      cones.addTo(map);
      mapEl.dataset.cameraCones = String(cones.getLayers().length);
    }).catch(function () { /* the cameras module is off, or the user may not see cameras */ });
    var legend = L.control({ position: "bottomleft" });
    legend.onAdd = function () {
      var div = L.DomUtil.create("div", "legend");
      var html = "<b>" + esc(lbl("legend")) + "</b><br>";
      ["camera", "sensor", "school", "kitchen", "waste_point", "hydrant"].forEach(function (k) {
        html += '<i style="background:' + COLORS[k] + '"></i>' + esc(lbl(k)) + "<br>";
      });
      div.innerHTML = html;
      return div;
    };
    legend.addTo(map);
  }

  // ---- live ticker ----
  var ticker = document.getElementById("ticker");
  if (ticker) {
    var locale = ticker.dataset.locale || "vi";
    var dot = document.getElementById("live-dot");
    var kpiEvents = document.getElementById("kpi-events");
    var timeFmt = new Intl.DateTimeFormat("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    var seen = {};
    var add = function (ev, fresh) {
      if (seen[ev.id]) return;
      seen[ev.id] = true;
      var d = ev.data || {};
      var text = (locale === "en" ? (d.title_en || d.title) : (d.title_vi || d.title)) || ev.subject;
      var li = document.createElement("li");
      li.className = "sev-" + (d.severity || "low");
      li.dataset.subject = ev.subject;
      li.innerHTML = '<span class="t">' + esc(timeFmt.format(new Date(ev.at))) + '</span><span class="m">' + esc(text) +
        '</span><span class="s">' + esc(ev.subject) + "</span>";
      if (fresh) { ticker.insertBefore(li, ticker.firstChild); } else { ticker.appendChild(li); }
      while (ticker.children.length > 60) { ticker.removeChild(ticker.lastChild); }
      if (fresh && kpiEvents) { kpiEvents.textContent = String((parseInt(kpiEvents.textContent, 10) || 0) + 1); }
    };
    getJSON("/api/v1/events/recent?limit=30").then(function (list) {
      list.forEach(function (ev) { add(ev, false); });
    }).catch(function () {});
    var connect = function () {
      var es = new EventSource("/api/v1/events/stream");
      es.onopen = function () { if (dot) dot.classList.add("on"); ticker.dataset.live = "1"; };
      es.onerror = function () { if (dot) dot.classList.remove("on"); };
      es.onmessage = function (m) {
        try { add(JSON.parse(m.data), true); } catch (e) { return; }
        ticker.dataset.received = String((parseInt(ticker.dataset.received || "0", 10)) + 1);
      };
    };
    connect();
  }

  // ---- charts ----
  var evEl = document.getElementById("chart-events");
  var pmEl = document.getElementById("chart-pm25");
  if ((evEl || pmEl) && window.echarts) {
    var theme = { textStyle: { color: "#8fb0c8" } };
    var evChart = evEl ? echarts.init(evEl, null, { renderer: "canvas" }) : null;
    var pmChart = pmEl ? echarts.init(pmEl, null, { renderer: "canvas" }) : null;
    var axis = { axisLine: { lineStyle: { color: "#1f4564" } }, splitLine: { lineStyle: { color: "#14324a" } } };
    var load = function () {
      getJSON("/ui/charts.json").then(function (d) {
        if (evChart) evChart.setOption({
          textStyle: theme.textStyle, grid: { left: 40, right: 10, top: 10, bottom: 30 }, tooltip: { trigger: "axis" },
          xAxis: Object.assign({ type: "category", data: d.hours }, axis), yAxis: Object.assign({ type: "value", minInterval: 1 }, axis),
          series: [{ type: "bar", data: d.events_per_hour, itemStyle: { color: "#2fb7ff" } }]
        });
        if (pmChart) pmChart.setOption({
          textStyle: theme.textStyle, grid: { left: 40, right: 10, top: 30, bottom: 30 }, tooltip: { trigger: "axis" },
          legend: { textStyle: { color: "#8fb0c8" } },
          xAxis: Object.assign({ type: "time" }, axis), yAxis: Object.assign({ type: "value" }, axis),
          series: d.pm25.map(function (s) { return { name: s.name, type: "line", showSymbol: false, smooth: true, data: s.points }; })
        });
      }).catch(function () {});
    };
    load();
    setInterval(load, 30000);
    window.addEventListener("resize", function () { if (evChart) evChart.resize(); if (pmChart) pmChart.resize(); });
  }
})();

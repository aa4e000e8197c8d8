// The leader dashboard: sparklines (ECharts), ranking of child units and the choropleth map (Leaflet).
(function () {
  "use strict";
  var T = JSON.parse((document.getElementById("ind-i18n") || {}).textContent || "{}");
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(url + " " + r.status); return r.json(); });
  }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  // A band in ECharts: the lower edge stacked under (upper - lower), only the second one filled.
  function bandSeries(lo, hi, name) {
    return [
      { name: name, type: "line", stack: "band", symbol: "none", lineStyle: { opacity: 0 }, data: lo, silent: true },
      { name: name, type: "line", stack: "band", symbol: "none", lineStyle: { opacity: 0 }, silent: true,
        areaStyle: { color: "#f5c451", opacity: 0.25 }, itemStyle: { color: "#f5c451" },
        data: hi.map(function (h, i) { return h == null || lo[i] == null ? null : h - lo[i]; }) }
    ];
  }
  document.querySelectorAll(".ind-spark").forEach(function (el) {
    if (!window.echarts) return;
    var data = JSON.parse(el.dataset.trend || "[]");
    var ahead = JSON.parse(el.dataset.ahead || "[]");
    var n = data.length, labels = data.map(function (d) { return d.period; });
    ahead.forEach(function (a) { labels.push(a.period); });
    var pad = function (arr, before) { return new Array(before).fill(null).concat(arr); };
    var lo = pad(ahead.map(function (a) { return a.lo; }), n), hi = pad(ahead.map(function (a) { return a.hi; }), n);
    var mean = ahead.length ? pad([data[n - 1] ? data[n - 1].value : null].concat(ahead.map(function (a) { return a.mean; })), n - 1) : [];
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      grid: { left: 2, right: 2, top: 4, bottom: 2 }, tooltip: { trigger: "axis" },
      xAxis: { type: "category", show: false, data: labels },
      yAxis: { type: "value", show: false, scale: true },
      series: [{ type: "line", smooth: true, symbol: "none", connectNulls: false, areaStyle: { opacity: 0.15 },
                 data: data.map(function (d) { return d.value; }) },
               { type: "line", symbol: "none", lineStyle: { type: "dashed" }, data: mean }].concat(bandSeries(lo, hi, T.interval))
    });
  });
  var fcEl = document.getElementById("ind-fc-chart"), fcChart = null;
  function loadForecast(code) {
    if (!fcEl || !window.echarts) return;
    var url = "/api/v1/indicators/" + encodeURIComponent(code) + "/forecast?period=" +
      encodeURIComponent(fcEl.dataset.period) + (fcEl.dataset.unit ? "&unit=" + encodeURIComponent(fcEl.dataset.unit) : "");
    getJSON(url).then(function (res) {
      var title = document.querySelector('.ind-tile[data-code="' + code + '"] h3');
      document.getElementById("ind-fc-name").textContent = "· " + (title ? title.textContent : code);
      var meta = document.getElementById("ind-fc-meta");
      if (!res.model) { meta.textContent = T.too_short; }
      else {
        var parts = [T.model + ": " + res.model];
        if (res.backtest && res.backtest.mape != null) parts.push(T.backtest + ": " + res.backtest.mape + "%");
        if (res.anomalies.length) parts.push(T.anomaly + ": " + res.anomalies.join(", "));
        if (res.warning) parts.push(T.warning + " " + res.warning.period + " (" + res.warning.forecast + " / " + res.warning.target + ")");
        meta.textContent = parts.join(" · ");
      }
      var pts = res.points, ahead = res.ahead, n = pts.length;
      var labels = pts.map(function (p) { return p.period; }).concat(ahead.map(function (a) { return a.period; }));
      var lo = pts.map(function (p) { return p.fitted ? p.fitted.lo : null; }).concat(ahead.map(function (a) { return a.lo; }));
      var hi = pts.map(function (p) { return p.fitted ? p.fitted.hi : null; }).concat(ahead.map(function (a) { return a.hi; }));
      var actual = pts.map(function (p) { return p.value; });
      var mean = new Array(n - 1).fill(null).concat([actual[n - 1]], ahead.map(function (a) { return a.mean; }));
      var targets = new Array(n).fill(null).concat(ahead.map(function (a) { return a.target; }));
      var anomalies = pts.map(function (p, i) { return p.anomaly ? [i, p.value] : null; }).filter(Boolean);
      if (!fcChart) fcChart = echarts.init(fcEl, null, { renderer: "svg" });
      fcChart.setOption({
        animation: false, tooltip: { trigger: "axis" },
        legend: { textStyle: { color: "#cfe3f5" }, data: [T.actual, T.forecast, T.interval, T.anomaly, T.target] },
        grid: { left: 50, right: 16, top: 36, bottom: 28 },
        xAxis: { type: "category", data: labels, axisLabel: { color: "#cfe3f5" } },
        yAxis: { type: "value", scale: true, axisLabel: { color: "#cfe3f5" }, splitLine: { lineStyle: { color: "#1d3a55" } } },
        series: bandSeries(lo, hi, T.interval).concat([
          { name: T.actual, type: "line", data: actual, symbolSize: 5, itemStyle: { color: "#6fb7ff" } },
          { name: T.forecast, type: "line", data: mean, symbol: "none", lineStyle: { type: "dashed" }, itemStyle: { color: "#f5c451" } },
          { name: T.target, type: "line", data: targets, symbol: "rect", itemStyle: { color: "#9be29b" }, lineStyle: { opacity: 0 } },
          { name: T.anomaly, type: "scatter", data: anomalies, symbolSize: 12, itemStyle: { color: "#ff5b5b" } }
        ])
      }, true);
      fcEl.dataset.loaded = code;
      fcEl.dataset.anomalies = String(res.anomalies.length);
    }).catch(function (e) { console.error(e); if (fcEl) fcEl.textContent = T.error; });
  }
  document.querySelectorAll(".ind-fc-btn").forEach(function (b) {
    b.addEventListener("click", function () { loadForecast(b.dataset.code); });
  });
  if (fcEl && fcEl.dataset.indicator) loadForecast(fcEl.dataset.indicator);
  var body = document.getElementById("ind-rank-body");
  if (!body) return;
  var mapEl = document.getElementById("ind-map"), map = null, layer = null, shapes = null;
  if (mapEl && window.L) {
    map = L.map(mapEl, { attributionControl: false, preferCanvas: true }).setView([20.935, 105.83], 13);
    if (mapEl.dataset.tileUrl) L.tileLayer(mapEl.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
  }
  function draw(rows) {
    if (!map) return;
    var byId = {};
    rows.forEach(function (r) { byId[r.unit_id] = r; });
    var go = function (fc) {
      shapes = fc;
      if (layer) map.removeLayer(layer);
      var feats = fc.features.filter(function (f) { return byId[f.properties.id || f.id]; });
      layer = L.geoJSON({ type: "FeatureCollection", features: feats }, {
        style: function (f) {
          var r = byId[f.properties.id || f.id];
          return { color: "#08131f", weight: 1, fillOpacity: 0.7, fillColor: r.band ? r.band.color : "#3b6f96" };
        },
        onEachFeature: function (f, l) {
          var r = byId[f.properties.id || f.id];
          l.bindTooltip(esc(r.unit_name) + ": " + (r.value == null ? "—" : esc(r.value)) +
            (r.achievement == null ? "" : " (" + esc(r.achievement) + "%)"));
        }
      }).addTo(map);
      mapEl.dataset.shapes = String(layer.getLayers().length);
      if (layer.getLayers().length) map.fitBounds(layer.getBounds(), { padding: [8, 8] });
    };
    if (shapes) go(shapes); else getJSON("/api/v1/units/geojson").then(go).catch(function (e) { console.error(e); });
  }
  function load(code) {
    var url = "/api/v1/indicators/ranking?indicator=" + encodeURIComponent(code) + "&period=" +
      encodeURIComponent(body.dataset.period) + (body.dataset.unit ? "&unit=" + encodeURIComponent(body.dataset.unit) : "");
    getJSON(url).then(function (res) {
      var title = document.querySelector('.ind-tile[data-code="' + code + '"] h3');
      document.getElementById("ind-rank-name").textContent = "· " + (title ? title.textContent : code);
      body.innerHTML = res.units.map(function (r) {
        return "<tr><td>" + (r.rank || "") + "</td><td>" + esc(r.unit_name) + "</td><td>" + (r.value == null ? "—" : esc(r.value)) +
          "</td><td>" + (r.target == null ? "" : esc(r.target)) + "</td><td>" + (r.achievement == null ? "" :
          '<span class="ind-band" style="background:' + esc(r.band ? r.band.color : "#9bb") + '">' + esc(r.achievement) + "%</span>") + "</td></tr>";
      }).join("") || "<tr><td colspan=5>" + esc(T.no_data) + "</td></tr>";
      body.dataset.loaded = code;
      draw(res.units);
    }).catch(function () { body.innerHTML = "<tr><td colspan=5>" + esc(T.error) + "</td></tr>"; });
  }
  document.querySelectorAll(".ind-rank-btn").forEach(function (b) {
    b.addEventListener("click", function () { load(b.dataset.code); });
  });
  if (body.dataset.indicator) load(body.dataset.indicator);
})();

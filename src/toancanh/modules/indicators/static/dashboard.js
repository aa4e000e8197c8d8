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
  document.querySelectorAll(".ind-spark").forEach(function (el) {
    if (!window.echarts) return;
    var data = JSON.parse(el.dataset.trend || "[]");
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      grid: { left: 2, right: 2, top: 4, bottom: 2 }, tooltip: { trigger: "axis" },
      xAxis: { type: "category", show: false, data: data.map(function (d) { return d.period; }) },
      yAxis: { type: "value", show: false, scale: true },
      series: [{ type: "line", smooth: true, symbol: "none", connectNulls: false, areaStyle: { opacity: 0.15 },
                 data: data.map(function (d) { return d.value; }) }]
    });
  });
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

// The epidemic map of /health: communes filled with their level's colour (from /api/v1/health/levels.geojson),
// lockdown points, quarantine zones and active cases (anonymized places outside the health sector) on top.
// It counts what it drew in data-communes / data-points (for the browser tests).
(function () {
  "use strict";
  var el = document.getElementById("health-map");
  if (!el || !window.L) return;
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function get(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; });
  }
  var map = L.map(el, { attributionControl: false, preferCanvas: true }).setView([20.935, 105.83], 12);
  if (el.dataset.tileUrl) L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
  var overlays = {};
  var control = L.control.layers(null, overlays, { collapsed: false }).addTo(map);
  get(el.dataset.levels).then(function (fc) {
    if (!fc) return;
    var names = { 2: "Cấp độ dịch: xã, phường", 3: "Cấp độ dịch: thôn, tổ dân phố" };
    var all = [];
    [2, 3].forEach(function (lvl) {
      var feats = fc.features.filter(function (f) { return f.properties.unit_level === lvl; });
      if (!feats.length) return;
      var layer = L.geoJSON({ type: "FeatureCollection", features: feats }, {
        style: function (f) {
          return { color: "#08131f", weight: lvl === 2 ? 3 : 1, fillColor: f.properties.colour, fillOpacity: lvl === 2 ? 0.25 : 0.55 };
        },
        onEachFeature: function (f, l) {
          var p = f.properties;
          l.bindPopup("<b>" + esc(p.unit_name) + "</b><br>" + esc(p.name) +
            (p.rate != null ? "<br>" + esc(p.rate.toFixed(1)) + " ca / 100.000 dân / tuần" : ""));
        }
      }).addTo(map);
      control.addOverlay(layer, names[lvl]);
      all = all.concat(feats);
    });
    if (all.length) map.fitBounds(L.geoJSON({ type: "FeatureCollection", features: all }).getBounds(), { padding: [10, 10] });
    el.dataset.communes = String(all.length);
  }).catch(function () {});
  get(el.dataset.layers).then(function (fc) {
    if (!fc) return;
    var groups = { lockdown: L.layerGroup(), zone: L.layerGroup(), "case": L.layerGroup() };
    var names = { lockdown: "Điểm phong tỏa", zone: "Vùng cách ly", "case": "Ca bệnh" };
    var colours = { lockdown: "#d62828", "case": "#ffd166" };
    fc.features.forEach(function (f) {
      var p = f.properties;
      var text = p.layer === "lockdown" ? esc(p.address) + "<br>" + esc(p.households) + " hộ, " + esc(p.people) + " người"
        : p.layer === "zone" ? esc(p.name) + "<br>" + esc(p.people) + " người" : esc(p.code) + " · " + esc(p.confirmed_on);
      var l = L.geoJSON(f, {
        style: { color: "#7b2cbf", weight: 2, fillOpacity: 0.15 },
        pointToLayer: function (_f, ll) {
          return L.circleMarker(ll, { radius: p.layer === "lockdown" ? 7 : 4, color: "#08131f", weight: 1, fillColor: colours[p.layer], fillOpacity: 1 });
        }
      }).bindPopup(text);
      (groups[p.layer] || groups["case"]).addLayer(l);
    });
    Object.keys(groups).forEach(function (k) { groups[k].addTo(map); control.addOverlay(groups[k], names[k]); });
    el.dataset.points = String(fc.features.length);
  }).catch(function () {});
})();

// A small map of points for any page: every element with class "tc-points-map" and a `data-points` JSON list
// of {lat, lon, label, href, kind} shows the units' boundaries and one dot per point (a link in its popup);
// `data-tile-url` adds a base map. It counts what it drew in `data-drawn` (for the browser tests).
(function () {
  "use strict";
  var COLORS = { negative: "#ff5d5d", neutral: "#8fb0c8", positive: "#35d07f" };
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  if (!window.L) return;
  Array.prototype.forEach.call(document.querySelectorAll(".tc-points-map"), function (el) {
    var points = JSON.parse(el.dataset.points || "[]").filter(function (p) {
      return typeof p.lat === "number" && typeof p.lon === "number";
    });
    var map = L.map(el, { attributionControl: false, preferCanvas: true });
    if (el.dataset.tileUrl) L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
    map.setView(points.length ? [points[0].lat, points[0].lon] : [20.935, 105.83], 14);
    fetch("/api/v1/units/geojson", { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (fc) {
        if (fc) L.geoJSON(fc, { style: { color: "#2fb7ff", weight: 1, fillOpacity: 0.06 }, interactive: false }).addTo(map);
      }).catch(function () {});
    var bounds = [];
    points.forEach(function (p) {
      var color = COLORS[p.kind] || "#ffd166";
      var m = L.circleMarker([p.lat, p.lon], { radius: 6, color: "#08131f", weight: 1, fillColor: color, fillOpacity: 1 });
      var text = p.href ? '<a href="' + esc(p.href) + '">' + esc(p.label) + "</a>" : esc(p.label);
      m.bindPopup(text).addTo(map);
      bounds.push([p.lat, p.lon]);
    });
    if (bounds.length > 1) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 16 });
    el.dataset.drawn = String(bounds.length);
  });
})();

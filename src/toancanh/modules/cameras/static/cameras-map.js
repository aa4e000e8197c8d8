// Cameras on a map with their view cones: the list page (every camera of the filter) and a camera's page.
(function () {
  "use strict";
  var el = document.getElementById("cam-map");
  if (!el || !window.L) return;
  var map = L.map(el, { attributionControl: false, preferCanvas: true });
  if (el.dataset.tileUrl) L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
  var center = el.dataset.center ? JSON.parse(el.dataset.center) : [20.935, 105.83];
  map.setView(center, el.dataset.camera ? 17 : 14);
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  fetch("/api/v1/units/geojson", { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
    .then(function (fc) {
      if (!fc) return;
      L.geoJSON(fc, { style: function (f) {
        return f.properties.level <= 2 ? { color: "#2fb7ff", weight: 2, fill: false }
                                       : { color: "#3b6f96", weight: 1, fillColor: "#143954", fillOpacity: 0.4 };
      } }).addTo(map);
    }).catch(function () {});
  fetch("/api/v1/cameras?format=geojson&" + (el.dataset.query || ""), { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (fc) {
      var bounds = [];
      fc.features.forEach(function (f) {
        var p = f.properties, lon = f.geometry.coordinates[0], lat = f.geometry.coordinates[1];
        if (el.dataset.camera && String(p.id) !== el.dataset.camera) return;
        var color = window.tcCameraColors[p.status] || "#8fb0c8";
        if (p.direction_deg !== null && p.direction_deg !== undefined) {
          L.polygon(window.tcCameraCone(lat, lon, p.direction_deg, p.fov_deg, p.range_m),
            { color: color, weight: 1, fillColor: color, fillOpacity: 0.25, interactive: false }).addTo(map);
        }
        L.circleMarker([lat, lon], { radius: 5, color: "#08131f", weight: 1, fillColor: color, fillOpacity: 1 })
          .bindPopup('<a href="/cameras/' + p.id + '"><b>' + esc(p.name) + "</b></a><br>" + esc(p.code) + " · " + esc(p.status))
          .addTo(map);
        bounds.push([lat, lon]);
      });
      el.dataset.cameras = String(bounds.length);
      if (bounds.length > 1 && !el.dataset.camera) map.fitBounds(bounds, { padding: [20, 20] });
    }).catch(function (e) { console.error(e); });
})();

// A camera's view cone on a Leaflet map: a fan from the camera's position along its view direction.
(function () {
  "use strict";
  window.tcCameraCone = function (lat, lon, dirDeg, fovDeg, rangeM) {
    var pts = [[lat, lon]], steps = 12, half = (fovDeg || 90) / 2, r = rangeM || 60;
    var mPerDegLat = 111320, mPerDegLon = 111320 * Math.cos(lat * Math.PI / 180);
    for (var i = 0; i <= steps; i++) {
      var b = (dirDeg - half + (2 * half * i) / steps) * Math.PI / 180;
      pts.push([lat + (r * Math.cos(b)) / mPerDegLat, lon + (r * Math.sin(b)) / mPerDegLon]);
    }
    return pts;
  };
  window.tcCameraColors = { online: "#35d07f", offline: "#ff5d5d", maintenance: "#ffb547", active: "#8fb0c8" };
})();

// The camera wall: a grid of snapshots refreshed every N seconds, rotating through pages, full screen.
(function () {
  "use strict";
  var wall = document.getElementById("wall");
  if (!wall) return;
  var grid = parseInt(wall.dataset.grid, 10) || 3, perPage = grid * grid;
  var interval = (parseInt(wall.dataset.interval, 10) || 5) * 1000;
  var rotate = (parseInt(wall.dataset.rotate, 10) || 0) * 1000;
  var msg = JSON.parse(wall.dataset.msg || "{}");
  var tiles = Array.prototype.slice.call(wall.querySelectorAll(".cam-tile"));
  var pages = Math.max(1, Math.ceil(tiles.length / perPage)), page = 0;
  var pageLabel = document.getElementById("wall-page");
  var timeFmt = new Intl.DateTimeFormat("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", second: "2-digit" });

  function refresh(tile) {
    var img = tile.querySelector("img");
    var probe = new Image();
    probe.onload = function () {
      img.src = probe.src;
      tile.classList.remove("no-image");
      tile.querySelector("time").textContent = timeFmt.format(new Date());
    };
    probe.onerror = function () { tile.classList.add("no-image"); };
    probe.src = img.dataset.src + "?t=" + Date.now();
  }
  function visible() { return tiles.slice(page * perPage, (page + 1) * perPage); }
  function show() {
    tiles.forEach(function (t, i) { t.hidden = Math.floor(i / perPage) !== page; });
    if (pageLabel) pageLabel.textContent = (msg.page || "Trang") + " " + (page + 1) + "/" + pages;
    visible().forEach(refresh);
    wall.dataset.page = String(page);
  }
  function go(delta) { page = (page + delta + pages) % pages; show(); }
  show();
  setInterval(function () { visible().forEach(refresh); }, interval);
  if (rotate > 0 && pages > 1) setInterval(function () { go(1); }, rotate);
  var prev = document.getElementById("wall-prev"), next = document.getElementById("wall-next");
  if (prev) prev.addEventListener("click", function () { go(-1); });
  if (next) next.addEventListener("click", function () { go(1); });
  var full = document.getElementById("wall-full");
  if (full) full.addEventListener("click", function () {
    var root = document.documentElement;
    if (document.fullscreenElement) document.exitFullscreen(); else if (root.requestFullscreen) root.requestFullscreen();
  });
  document.addEventListener("fullscreenchange", function () {
    document.body.classList.toggle("cam-fullscreen", !!document.fullscreenElement);
  });
})();

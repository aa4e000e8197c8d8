// Shared behaviour of every page: the clock in the top bar.
(function () {
  "use strict";
  var clock = document.getElementById("clock");
  if (!clock) return;
  var fmt = new Intl.DateTimeFormat("vi-VN", {
    timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", second: "2-digit",
    day: "2-digit", month: "2-digit", year: "numeric"
  });
  function tick() { clock.textContent = fmt.format(new Date()); }
  tick();
  setInterval(tick, 1000);
})();

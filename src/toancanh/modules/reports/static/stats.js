// The statistics page: reports received, closed and late per period (ECharts).
(function () {
  "use strict";
  var el = document.getElementById("stats-chart");
  if (!el || !window.echarts) return;
  var rows = [];
  try { rows = JSON.parse(document.getElementById("stats-data").textContent || "[]"); } catch (e) { rows = []; }
  var chart = echarts.init(el, null, { renderer: "canvas" });
  var axis = { axisLine: { lineStyle: { color: "#1f4564" } }, splitLine: { lineStyle: { color: "#14324a" } } };
  var series = ["received", "closed", "late"].map(function (key, i) {
    return { name: el.getAttribute("data-l-" + key), type: "bar", data: rows.map(function (r) { return r[key]; }),
             itemStyle: { color: ["#2fb7ff", "#35d07f", "#ff5d5d"][i] } };
  });
  chart.setOption({
    textStyle: { color: "#8fb0c8" }, tooltip: { trigger: "axis" }, legend: { textStyle: { color: "#8fb0c8" } },
    grid: { left: 40, right: 10, top: 30, bottom: 30 },
    xAxis: Object.assign({ type: "category", data: rows.map(function (r) { return r.bucket; }) }, axis),
    yAxis: Object.assign({ type: "value", minInterval: 1 }, axis),
    series: series
  });
  el.dataset.ready = "1";
  window.addEventListener("resize", function () { chart.resize(); });
})();

/* What-if modelling: the charts (cost per month, pay bands, Lorenz curve) from the page's JSON, and sorting of
   the per-person table. Amounts arrive as exact decimal text; they become numbers only to be drawn. */
(function () {
  "use strict";
  var source = document.getElementById("modelling-data");
  if (!source) return;
  var chart = JSON.parse(source.textContent);
  var data = chart.data, labels = chart.labels;
  var colours = ["#5b7db1", "#e08a3c"];

  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) return;
    var instance = echarts.init(el);
    instance.setOption(Object.assign({ color: colours, tooltip: { trigger: "axis" }, legend: { top: 0 } }, option));
    window.addEventListener("resize", function () { instance.resize(); });
  }

  draw("chart-cost", {
    grid: { left: 90, right: 20, top: 40, bottom: 30 },
    xAxis: { type: "category", data: data.periods.map(function (p) { return p.period; }) },
    yAxis: { type: "value", name: labels.cost },
    series: [
      { name: labels.current, type: "bar", data: data.periods.map(function (p) { return Number(p.current.cost); }) },
      { name: labels.draft, type: "bar", data: data.periods.map(function (p) { return Number(p.draft.cost); }) }
    ]
  });

  draw("chart-bands", {
    grid: { left: 50, right: 20, top: 40, bottom: 70 },
    xAxis: { type: "category", name: labels.band, nameLocation: "middle", nameGap: 50,
             axisLabel: { rotate: 30 },
             data: data.bands.map(function (b) { return Number(b.low).toLocaleString() + "–" + Number(b.high).toLocaleString(); }) },
    yAxis: { type: "value", name: labels.payees, minInterval: 1 },
    series: [
      { name: labels.current, type: "bar", data: data.bands.map(function (b) { return b.current; }) },
      { name: labels.draft, type: "bar", data: data.bands.map(function (b) { return b.draft; }) }
    ]
  });

  function curve(points) { return points.map(function (p) { return [Number(p[0]), Number(p[1])]; }); }
  draw("chart-lorenz", {
    tooltip: { trigger: "item" },
    grid: { left: 60, right: 20, top: 40, bottom: 50 },
    xAxis: { type: "value", min: 0, max: 1, name: labels.population, nameLocation: "middle", nameGap: 30 },
    yAxis: { type: "value", min: 0, max: 1, name: labels.pay },
    series: [
      { name: labels.current, type: "line", symbolSize: 4, data: curve(data.current.distribution.lorenz) },
      { name: labels.draft, type: "line", symbolSize: 4, data: curve(data.draft.distribution.lorenz) },
      { name: labels.equality, type: "line", symbol: "none", lineStyle: { type: "dashed", color: "#999" },
        itemStyle: { color: "#999" }, data: [[0, 0], [1, 1]] }
    ]
  });

  // sortable tables: a click on a heading sorts by that column, a second click reverses
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("th[data-sort]");
    heads.forEach(function (th, index) {
      th.setAttribute("role", "button");
      th.addEventListener("click", function () {
        var descending = th.getAttribute("aria-sort") === "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        var numeric = th.dataset.sort === "number";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[index], y = b.cells[index];
          var left = x.dataset.value !== undefined ? x.dataset.value : x.textContent.trim();
          var right = y.dataset.value !== undefined ? y.dataset.value : y.textContent.trim();
          var order;
          if (numeric) {
            var p = left === "" ? -Infinity : Number(left), q = right === "" ? -Infinity : Number(right);
            order = p < q ? -1 : p > q ? 1 : 0;
          } else {
            order = left.localeCompare(right);
          }
          return descending ? -order : order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();

/* Sales-process analytics: draws the page's charts (funnel, box plots, trend lines) from the JSON the server
   put in #analytics-charts. Figures arrive as exact decimal text and become numbers only to be drawn; a funnel
   stage leads to the deals behind it. Each drawn chart gets data-drawn="1". */
(function () {
  "use strict";
  var source = document.getElementById("analytics-charts");
  if (!source || !window.echarts) return;
  var charts = JSON.parse(source.textContent);
  var colours = ["#5b7db1", "#e08a3c", "#6aa86b", "#b25f8a", "#8a7bd0", "#c9a227", "#4aa3a3", "#a0522d", "#777"];

  function num(value) { return value === null || value === undefined ? null : Number(value); }
  function pct(value) { return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%"; }

  var builders = {
    funnel: function (c) {
      return {
        tooltip: { trigger: "item", formatter: "{b}: {c}" },
        series: [{
          type: "funnel", sort: "none", gap: 2, minSize: "24%", left: "10%", width: "80%", top: 10, bottom: 10,
          label: { show: true, position: "inside", formatter: "{b}: {c}" },
          data: c.items.map(function (item) { return { name: item.name, value: item.value, url: item.url }; })
        }]
      };
    },
    boxplot: function (c) {
      return {
        legend: { top: 0 }, tooltip: { trigger: "item" },
        grid: { left: 60, right: 20, top: 40, bottom: 30 },
        xAxis: { type: "category", data: c.x },
        yAxis: { type: "value", name: c.unit },
        series: c.series.map(function (s) {
          return { name: s.name, type: "boxplot",
                   data: s.data.map(function (box) { return box.length ? box.map(num) : []; }) };
        })
      };
    },
    lines: function (c) {
      return {
        legend: { top: 0, type: "scroll" },
        tooltip: { trigger: "axis", valueFormatter: c.percent ? pct : function (v) {
          return v === null || v === undefined ? "—" : Number(v).toLocaleString(); } },
        grid: { left: 80, right: 20, top: 40, bottom: 30 },
        xAxis: { type: "category", data: c.x },
        yAxis: { type: "value", axisLabel: c.percent ? { formatter: function (v) { return Math.round(v * 100) + "%"; } } : {} },
        series: c.series.map(function (s) {
          return { name: s.name, type: "line", connectNulls: false, symbolSize: 5, data: s.data.map(num) };
        })
      };
    }
  };

  charts.forEach(function (c) {
    var el = document.getElementById(c.id);
    if (!el || !builders[c.kind]) return;
    var instance = echarts.init(el);
    instance.setOption(Object.assign({ color: colours, animation: false }, builders[c.kind](c)));
    instance.on("click", function (event) {
      if (event.data && event.data.url) window.location.href = event.data.url;
    });
    window.addEventListener("resize", function () { instance.resize(); });
    el.setAttribute("data-drawn", "1");
  });
})();

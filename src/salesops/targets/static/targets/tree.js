/* The targets tree-table: expand/collapse per node and per level, and the decomposition treemap. The state
   survives htmx swaps of the table (a lock, a commit or the months toggle re-renders #tree). No framework. */
(function () {
  "use strict";
  var collapsed = new Set();
  var maxLevel = null;

  function isDescendant(key, ancestor) {
    return ancestor === "" ? key !== "" : key.indexOf(ancestor + "/") === 0;
  }

  function apply() {
    var table = document.querySelector("table.tree-grid");
    if (!table) return;
    var inside = null; // key of the collapsed node whose subtree we are walking (rows are depth first)
    var rows = table.tBodies[0].rows;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var key = row.getAttribute("data-key");
      var level = Number(row.getAttribute("data-level"));
      if (inside !== null && !isDescendant(key, inside)) inside = null;
      var hide = inside !== null || (maxLevel !== null && level > maxLevel);
      if (row.hidden !== hide) row.hidden = hide; // write only changes: a big table re-lays out on every write
      var twisty = row.querySelector(".twisty");
      var closed = collapsed.has(key) || (maxLevel !== null && level >= maxLevel);
      if (twisty && !twisty.classList.contains("leaf")) {
        var mark = closed ? "▸" : "▾";
        if (twisty.textContent !== mark) {
          twisty.textContent = mark;
          twisty.setAttribute("aria-expanded", closed ? "false" : "true");
        }
      }
      if (inside === null && collapsed.has(key)) inside = key;
    }
  }

  var drawnFrom = null; // the data element last drawn: an edit that swaps only rows leaves it (and the chart) alone

  function drawTreemap() {
    var el = document.getElementById("treemap");
    var source = document.getElementById("treemap-data");
    if (!el || !source || !window.echarts || source === drawnFrom) return;
    drawnFrom = source;
    var toNumbers = function (items) {
      return items.map(function (item) {
        var out = { name: item.name, value: Number(item.value) };
        if (item.children) out.children = toNumbers(item.children);
        return out;
      });
    };
    var data = toNumbers(JSON.parse(source.textContent));
    var count = source.textContent.split('"name"').length - 1;
    var rootName = "";
    if (data.length === 1 && data[0].children) { // the total is the whole canvas already: start at its children
      rootName = data[0].name;
      data = data[0].children;
    }
    var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el);
    chart.setOption({
      tooltip: { formatter: function (info) {
        var path = info.treePathInfo.slice(1).map(function (p) { return p.name; }).join(" / ");
        return path + "<br>" + Number(info.value).toLocaleString(undefined, { minimumFractionDigits: 2 });
      } },
      series: [{ type: "treemap", name: rootName, data: data, roam: false, nodeClick: "zoomToNode",
                 leafDepth: count > 400 ? 2 : null, visibleMin: 300,
                 label: { show: true, formatter: "{b}" }, upperLabel: { show: true, height: 22, color: "#fff" },
                 levels: [
                   { itemStyle: { borderWidth: 0, gapWidth: 4 } },
                   { colorSaturation: [0.35, 0.6], itemStyle: { gapWidth: 2, borderColorSaturation: 0.7 } },
                   { colorSaturation: [0.3, 0.5], itemStyle: { gapWidth: 1, borderColorSaturation: 0.6 } }
                 ] }]
    }, true);
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-toggle], [data-show-level], [data-expand-all]");
    if (!target) return;
    if (target.hasAttribute("data-toggle")) {
      var key = target.closest("tr").getAttribute("data-key");
      var level = Number(target.closest("tr").getAttribute("data-level"));
      if (maxLevel !== null && level >= maxLevel) { // opening a node below the level cut: open the cut one step
        maxLevel = level + 1;
        collapsed.delete(key);
      } else if (collapsed.has(key)) {
        collapsed.delete(key);
      } else {
        collapsed.add(key);
      }
    } else if (target.hasAttribute("data-show-level")) {
      maxLevel = Number(target.getAttribute("data-show-level"));
      collapsed.clear();
    } else {
      maxLevel = null;
      collapsed.clear();
    }
    apply();
  });

  // Every edit in a row posts the row's node key (kept once per row, in data-key, not in each input).
  document.addEventListener("htmx:configRequest", function (event) {
    var row = event.detail.elt.closest && event.detail.elt.closest("tr[data-key]");
    if (row && event.detail.verb === "post") event.detail.parameters.key = row.getAttribute("data-key");
  });

  document.addEventListener("DOMContentLoaded", function () { apply(); drawTreemap(); });
  document.addEventListener("htmx:afterSwap", function () { apply(); drawTreemap(); });
  // an edit answers with just the changed rows, swapped out of band: keep collapsed subtrees hidden
  var pending = false; // one pass after all the rows of an answer are in, not one per row
  document.addEventListener("htmx:oobAfterSwap", function () {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; apply(); });
  });
  window.addEventListener("resize", function () {
    var el = document.getElementById("treemap");
    var chart = el && window.echarts && window.echarts.getInstanceByDom(el);
    if (chart) chart.resize();
  });
})();

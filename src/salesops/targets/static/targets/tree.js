/* The targets tree-table: expand/collapse per node and per level, row windowing for big plans, and the
   decomposition treemap. The state survives htmx swaps of the table (a lock, a commit or the months toggle
   re-renders #tree, or swaps just the changed rows). No framework.

   Windowing: a plan of thousands of nodes would make the browser lay out and paint thousands of rows after
   every edit (≈100 ms for 1,700 rows here). When more rows are open than WINDOW_FROM, only the rows in and
   around the scrolled view are displayed; two spacer rows keep the scroll height, so the scroll bar, the
   expand/collapse state and the edits behave as if every row were there. Rows all have one height (no
   wrapping), which is what makes the spacers exact. */
(function () {
  "use strict";
  var collapsed = new Set();
  var maxLevel = null;
  var WINDOW_FROM = 300; // open rows above which only a window of them is displayed (the page says it too)
  var OVERSCAN = 30; // rows displayed above and below the view (both can be set on the table: data-window-*)
  var overscan = OVERSCAN;
  var MEASURED = 30; // the first rows, whose tallest sets every row's height
  var open = []; // the rows not hidden by the expand/collapse state, in table order
  var rowHeight = 0, headHeight = 0, measured = null; // measured on the table element they belong to

  function isDescendant(key, ancestor) {
    return ancestor === "" ? key !== "" : key.indexOf(ancestor + "/") === 0;
  }

  function table() {
    return document.querySelector("table.tree-grid");
  }

  // Which rows are open (the expand/collapse state), and the twisty marks.
  function apply() {
    var grid = table();
    if (!grid) return;
    var limit = Number(grid.getAttribute("data-window-from") || WINDOW_FROM);
    overscan = Number(grid.getAttribute("data-window-overscan") || OVERSCAN);
    var inside = null; // key of the collapsed node whose subtree we are walking (rows are depth first)
    var rows = grid.tBodies[0].rows;
    open = [];
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var key = row.getAttribute("data-key");
      if (key === null) continue; // a spacer, or the "no nodes" row
      var level = Number(row.getAttribute("data-level"));
      if (inside !== null && !isDescendant(key, inside)) inside = null;
      var hide = inside !== null || (maxLevel !== null && level > maxLevel);
      if (!hide) open.push(row);
      else if (!row.hidden) row.hidden = true; // write only changes: a big table re-lays out on every write
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
    grid.classList.toggle("windowed", open.length > limit);
    show();
  }

  function spacer(grid, where) {
    var body = grid.tBodies[0];
    var el = body.querySelector("tr.spacer-" + where);
    if (!el) {
      el = document.createElement("tr");
      el.className = "spacer spacer-" + where;
      el.setAttribute("aria-hidden", "true");
      el.innerHTML = '<td colspan="99"></td>';
      if (where === "top") body.insertBefore(el, body.firstChild);
      else body.appendChild(el);
    }
    return el;
  }

  function setHeight(el, px) {
    var value = px + "px";
    if (el.firstChild.style.height !== value) el.firstChild.style.height = value;
    if (el.hidden !== (px === 0)) el.hidden = px === 0;
  }

  // Display the open rows in the scrolled view (all of them when the plan is small).
  function show() {
    var grid = table();
    if (!grid) return;
    var i;
    if (!grid.classList.contains("windowed")) {
      for (i = 0; i < open.length; i++) {
        if (open[i].hidden) open[i].hidden = false;
      }
      grid.querySelectorAll("tr.spacer").forEach(function (el) { el.remove(); });
      if (measured === grid) unfreezeColumns(grid);
      return;
    }
    if (measured !== grid) { // windowing begins on this table: measure it once, on its first rows
      for (i = 0; i < open.length; i++) {
        if (open[i].hidden !== i >= MEASURED) open[i].hidden = i >= MEASURED;
      }
      rowHeight = 0; // every row gets the tallest one's height, so that the spacers are exact
      for (i = 0; i < Math.min(open.length, MEASURED); i++) {
        rowHeight = Math.max(rowHeight, open[i].getBoundingClientRect().height);
      }
      rowHeight = Math.ceil(rowHeight) || 28;
      grid.style.setProperty("--row-height", rowHeight + "px");
      headHeight = grid.tHead ? grid.tHead.getBoundingClientRect().height : 0;
      freezeColumns(grid);
      measured = grid;
    }
    // row i sits at headHeight + i × rowHeight in the scrolled content; the sticky header covers the top
    var wrap = grid.closest(".tree-wrap");
    var first = Math.max(0, Math.floor(wrap.scrollTop / rowHeight) - overscan);
    var last = Math.min(open.length,
                        Math.ceil((wrap.scrollTop + wrap.clientHeight - headHeight) / rowHeight) + overscan);
    for (i = 0; i < open.length; i++) {
      var hide = i < first || i >= last;
      if (open[i].hidden !== hide) open[i].hidden = hide;
    }
    setHeight(spacer(grid, "top"), first * rowHeight);
    setHeight(spacer(grid, "bottom"), (open.length - last) * rowHeight);
  }

  // A windowed table keeps the column widths it had when windowing began (fixed layout): otherwise the columns
  // would change width as rows of other lengths scroll in.
  function freezeColumns(grid) {
    var cells = grid.tHead ? grid.tHead.rows[0].cells : [];
    var widths = [];
    for (var i = 0; i < cells.length; i++) widths.push(cells[i].getBoundingClientRect().width);
    for (var j = 0; j < cells.length; j++) cells[j].style.width = Math.max(widths[j], j === 0 ? 320 : 0) + "px";
  }

  function unfreezeColumns(grid) {
    var cells = grid.tHead ? grid.tHead.rows[0].cells : [];
    for (var i = 0; i < cells.length; i++) cells[i].style.width = "";
    measured = null;
  }

  var scrolling = false;
  document.addEventListener("scroll", function (event) {
    if (scrolling || !event.target.classList || !event.target.classList.contains("tree-wrap")) return;
    scrolling = true;
    window.requestAnimationFrame(function () { scrolling = false; show(); });
  }, true);

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
  // After a full re-render, and after an edit that swapped just the changed rows out of band (htmx fires
  // afterSwap once per swapped row): one pass, before the next paint, keeps collapsed subtrees hidden and the
  // window in place.
  var pending = false;
  document.addEventListener("htmx:afterSwap", function () {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; apply(); drawTreemap(); });
  });
  window.addEventListener("resize", function () {
    var el = document.getElementById("treemap");
    var chart = el && window.echarts && window.echarts.getInstanceByDom(el);
    if (chart) chart.resize();
  });
})();

// The kanban board (drag a card to another column: the move is posted, a refusal puts the card back and shows
// a form of the fields the stage still needs) and the stage table (drag rows to reorder). Every text shown comes
// from the server, already translated.
(function () {
  "use strict";

  function csrf(root) {
    var input = (root || document).querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(url, body, token) {
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRFToken": token},
    }).then(function (response) {
      return response.json().then(function (data) { return {status: response.status, data: data}; });
    });
  }

  // -- the board ---------------------------------------------------------------------------------------------
  function Board(root) {
    this.root = root;
    this.panel = root.querySelector("#move-panel");
    this.pending = null;  // {card, from, index}: the card a refused move put back
    var self = this;
    root.querySelectorAll(".kcards").forEach(function (list) {
      Sortable.create(list, {
        group: "board", animation: 120, ghostClass: "kghost", filter: "a", preventOnFilter: false,
        onEnd: function (evt) { if (evt.from !== evt.to) self.moved(evt); },
      });
    });
    this.panel.addEventListener("submit", function (evt) {
      var form = evt.target.closest("[data-move-form]");
      if (!form) return;
      evt.preventDefault();
      self.retry(form);
    });
    this.panel.addEventListener("click", function (evt) {
      if (evt.target.closest("[data-move-cancel]")) { evt.preventDefault(); self.closePanel(); }
    });
  }

  Board.prototype.moveUrl = function (id) {
    return this.root.dataset.moveUrl.replace(/\/0\/move\/$/, "/" + id + "/move/");
  };

  Board.prototype.moved = function (evt) {
    var card = evt.item, self = this;
    var body = new FormData();
    body.append("stage", evt.to.dataset.stage);
    body.append("board_query", this.root.dataset.boardQuery || "");
    card.classList.add("kbusy");
    post(this.moveUrl(card.dataset.id), body, csrf(this.root)).then(function (answer) {
      card.classList.remove("kbusy");
      if (answer.data.ok) return self.landed(card, answer.data);
      self.putBack(card, evt.from, evt.oldIndex);
      self.refused(card, evt.from, evt.oldIndex, answer.data);
    }).catch(function () {
      card.classList.remove("kbusy");
      self.putBack(card, evt.from, evt.oldIndex);
      self.showPanel("<p class=\"flash error\">" + self.root.dataset.failed + "</p>");
    });
  };

  Board.prototype.putBack = function (card, from, index) {
    from.insertBefore(card, from.children[index] || null);
  };

  Board.prototype.refused = function (card, from, index, data) {
    this.pending = {card: card, from: from, index: index};
    card.classList.add("krefused");
    this.showPanel(data.html);
  };

  Board.prototype.retry = function (form) {
    var self = this, body = new FormData(form);
    post(form.action, body, csrf(form)).then(function (answer) {
      if (answer.data.ok) {
        var card = self.pending ? self.pending.card : self.root.querySelector(".kcard[data-id='" + answer.data.id + "']");
        self.closePanel();
        self.landed(card, answer.data);
      } else {
        self.showPanel(answer.data.html);
      }
    }).catch(function () {
      self.showPanel("<p class=\"flash error\">" + self.root.dataset.failed + "</p>");
    });
  };

  // the move is saved: the card (fresh from the server) sits at the top of its new column; totals follow
  Board.prototype.landed = function (card, data) {
    var target = this.root.querySelector(".kcards[data-stage='" + data.stage + "']");
    var holder = document.createElement("div");
    holder.innerHTML = data.card.trim();
    var fresh = holder.querySelector(".kcard");
    if (card && card.parentNode) card.parentNode.removeChild(card);
    if (target && fresh) target.insertBefore(fresh, target.firstChild);
    var columns = data.columns || {};
    Object.keys(columns).forEach(function (stage) {
      var col = document.querySelector(".kcol[data-stage='" + stage + "']");
      if (!col) return;
      ["count", "amount", "weighted"].forEach(function (key) {
        var cell = col.querySelector("[data-total=" + key + "]");
        if (cell) cell.textContent = columns[stage][key];
      });
    });
    this.pending = null;
  };

  Board.prototype.showPanel = function (html) {
    this.panel.innerHTML = html;
    this.panel.hidden = false;
    var first = this.panel.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
  };

  Board.prototype.closePanel = function () {
    if (this.pending) this.pending.card.classList.remove("krefused");
    this.pending = null;
    this.panel.hidden = true;
    this.panel.innerHTML = "";
  };

  function initBoard() {
    var root = document.getElementById("board");
    if (root && root.dataset.canMove === "1" && !root.dataset.ready && window.Sortable) {
      root.dataset.ready = "1";
      new Board(root);
    }
  }

  // -- the stage table ---------------------------------------------------------------------------------------
  function initStages() {
    var table = document.getElementById("stage-table");
    var rows = document.getElementById("stage-rows");
    if (!table || !rows || !window.Sortable) return;
    Sortable.create(rows, {
      handle: ".drag-handle", animation: 120,
      onEnd: function () {
        var order = Array.prototype.map.call(rows.querySelectorAll("tr[data-id]"), function (tr) { return tr.dataset.id; });
        var body = new FormData();
        body.append("order", order.join(","));
        post(table.dataset.reorderUrl, body, csrf(table.parentNode)).then(function () { window.location.reload(); });
      },
    });
  }

  function init() { initBoard(); initStages(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
  // the filters swap the board in with htmx: wire the new one
  document.addEventListener("htmx:afterSwap", initBoard);
})();

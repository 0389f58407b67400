/* The review queue's browser side (templates/_macros/queue.html). Optional: without it
   every control still works (plain GET forms, per-page selection, links).
   - selection across pages: ticked ids are kept per list in sessionStorage, restored
     after every swap, counted ("已选 N 件"), and sent with the bulk form;
   - 全选本页;
   - on phones the filter drawer stays folded unless a filter is active;
   - keyboard shortcuts on the detail page: any element with data-shortcut="j" is
     clicked on that key (not while typing in a field);
   - a search whose typing delay runs out after the list already shows that query (a
     filter changed meanwhile sent it along) is not sent again: its late answer would
     replace the rows under the reviewer's next click (an open 退回 box, a tick). */
(function () {
  "use strict";

  function results() { return document.querySelector("[data-queue-key]"); }
  function storeKey(el) { return "kepu-queue:" + el.getAttribute("data-queue-key"); }
  function load(el) {
    try { return JSON.parse(sessionStorage.getItem(storeKey(el)) || "[]"); } catch (e) { return []; }
  }
  function save(el, ids) {
    try { sessionStorage.setItem(storeKey(el), JSON.stringify(ids)); } catch (e) { /* private mode */ }
  }
  // The bulk form: <form data-queue-bulk data-queue-name="ids">; its row checkboxes are
  // input.queue-check with form="<its id>".
  function bulkForm() { return document.querySelector("form[data-queue-bulk]"); }
  function boxes() {
    var form = bulkForm();
    if (!form) return [];
    return Array.from(document.querySelectorAll('input.queue-check[form="' + form.id + '"]'));
  }

  function sync() {
    var el = results();
    if (!el) return;
    if (el.hasAttribute("data-queue-reset")) { save(el, []); el.removeAttribute("data-queue-reset"); }
    var all = boxes();
    // Boxes the server rendered ticked (e.g. brought from another list) join the selection.
    var ids = load(el);
    all.forEach(function (b) {
      if (b.defaultChecked && ids.indexOf(b.value) < 0 && !b.hasAttribute("data-queue-seen")) ids.push(b.value);
      b.setAttribute("data-queue-seen", "");
    });
    save(el, ids);
    var set = new Set(ids);
    all.forEach(function (b) { b.checked = set.has(b.value); });
    var count = document.querySelector("[data-queue-selected-count]");
    if (count) {
      count.textContent = ids.length;
      count.closest(".queue-selected").hidden = ids.length === 0;
    }
    var page = document.querySelector("[data-queue-select-page]");
    if (page) {
      page.closest("label").hidden = all.length === 0;
      var on = all.filter(function (b) { return b.checked; }).length;
      page.checked = all.length > 0 && on === all.length;
      page.indeterminate = on > 0 && on < all.length;
    }
  }

  function toggle(values, checked) {
    var el = results();
    if (!el) return;
    var ids = load(el);
    values.forEach(function (v) {
      var i = ids.indexOf(v);
      if (checked && i < 0) ids.push(v);
      if (!checked && i >= 0) ids.splice(i, 1);
    });
    save(el, ids);
    sync();
  }

  document.addEventListener("change", function (e) {
    var t = e.target;
    if (!t || !t.matches) return;
    if (t.matches("input.queue-check")) toggle([t.value], t.checked);
    else if (t.matches("[data-queue-select-page]")) {
      toggle(boxes().map(function (b) { return b.value; }), t.checked);
    }
  });

  document.addEventListener("click", function (e) {
    var t = e.target.closest && e.target.closest("[data-queue-clear]");
    if (t) { var el = results(); if (el) { save(el, []); sync(); } }
  });

  // The bulk form sends every selected id (other pages' too) unless it acts on all.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-queue-bulk")) return;
    var submitter = e.submitter;
    if (submitter && submitter.name === "scope") return;
    var el = results();
    if (!el) return;
    var onPage = new Set(boxes().map(function (b) { return b.value; }));
    form.querySelectorAll("input[data-queue-extra]").forEach(function (i) { i.remove(); });
    load(el).forEach(function (id) {
      if (onPage.has(id)) return;
      var input = document.createElement("input");
      input.type = "hidden"; input.name = form.getAttribute("data-queue-name") || "ids"; input.value = id;
      input.setAttribute("data-queue-extra", "");
      form.appendChild(input);
    });
  });

  // Phones: fold the drawer unless a filter is set.
  function drawers(root) {
    (root || document).querySelectorAll("details.queue-drawer").forEach(function (d) {
      if (window.matchMedia("(min-width: 720px)").matches) d.open = true;
      else if (!d.hasAttribute("data-active")) d.open = false;
    });
  }

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var key = (e.key || "").toLowerCase();
    if (key.length !== 1) return;
    var el = document.querySelector('[data-shortcut="' + key + '"]');
    if (!el) return;
    e.preventDefault();
    el.click();
  });

  // The query of the last list request sent from the search form.
  var lastQuery = null;
  function queryOf(form) {
    var params = new URLSearchParams(new FormData(form));
    params.delete("csrf_token");
    return params.toString();
  }
  document.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail && e.detail.elt;
    var form = elt && elt.closest ? elt.closest("form.queue-search") : null;
    if (!form) {
      var target = e.detail && e.detail.target;
      if (target && target.id === "queue-results") lastQuery = null;  // a tab, a page link
      return;
    }
    var query = queryOf(form);
    if (elt.type === "search" && query === lastQuery) {
      e.preventDefault();   // the typing delay ran out on a query already shown
      return;
    }
    lastQuery = query;
  });

  document.addEventListener("DOMContentLoaded", function () { drawers(); sync(); });
  document.addEventListener("htmx:afterSettle", function () { sync(); });
})();

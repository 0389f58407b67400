/* kepu — autocomplete enhancements for the org picker (templates/_macros/org_picker.html).
   Everything works without this file; it only adds keyboard niceties. */
(function () {
  "use strict";

  // Buttons marked data-nojs are the no-JavaScript fallbacks (搜索 / 选择). With
  // JavaScript, HTMX does their job; remove them so Enter submits the real form.
  function dropNoJs(root) {
    (root || document).querySelectorAll("[data-nojs]").forEach(function (el) { el.remove(); });
  }
  document.addEventListener("DOMContentLoaded", function () { dropNoJs(document); });
  document.addEventListener("htmx:load", function (e) { dropNoJs(e.target); });

  function resultsFor(input) {
    var id = input.getAttribute("aria-controls");
    return id ? document.getElementById(id) : null;
  }
  function options(list) {
    return list ? Array.from(list.querySelectorAll("[data-ac-option]")) : [];
  }

  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (!t || !t.closest) return;
    if (t.hasAttribute && t.hasAttribute("data-ac-input")) {
      var list = resultsFor(t);
      if (e.key === "Enter") {
        // Do not submit the surrounding form: search now, or pick the only match.
        e.preventDefault();
        var opts = options(list);
        if (opts.length === 1) opts[0].click();
        else t.dispatchEvent(new Event("search", { bubbles: true }));
      } else if (e.key === "ArrowDown") {
        var first = options(list)[0];
        if (first) { e.preventDefault(); first.focus(); }
      } else if (e.key === "Escape" && list) {
        list.innerHTML = "";
      }
      return;
    }
    var opt = t.closest("[data-ac-option]");
    if (!opt) return;
    var ul = opt.closest("[data-ac-results]");
    var all = options(ul);
    var i = all.indexOf(opt);
    var input = ul && ul.id ? document.querySelector('[aria-controls="' + ul.id + '"]') : null;
    if (e.key === "ArrowDown" && i < all.length - 1) { e.preventDefault(); all[i + 1].focus(); }
    else if (e.key === "ArrowUp") {
      e.preventDefault();
      if (i > 0) all[i - 1].focus(); else if (input) input.focus();
    } else if (e.key === "Escape" && input) { e.preventDefault(); ul.innerHTML = ""; input.focus(); }
  });

  // After choosing, move focus to the [更换] button of the picker that was swapped in.
  document.addEventListener("htmx:afterSwap", function (e) {
    var el = e.detail && e.detail.elt;
    var picker = e.target && e.target.classList && e.target.classList.contains("org-picker") ? e.target : null;
    if (!picker && el && el.id && /-picker$/.test(el.id)) picker = el;
    if (!picker) {
      var tgt = e.detail && e.detail.target;
      if (tgt && tgt.id && /-picker$/.test(tgt.id)) picker = document.getElementById(tgt.id);
    }
    if (picker) {
      var focusEl = picker.querySelector(".selected-org button") || picker.querySelector("[data-ac-input]");
      if (focusEl) focusEl.focus();
    }
  });
})();

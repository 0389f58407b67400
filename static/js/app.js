/* kepu — small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // Live character counters: <textarea data-counter="3000"> + <span data-count-for="id">.
  function updateCounter(el) {
    var out = document.querySelector('[data-count-for="' + el.id + '"]');
    if (!out) return;
    var n = Array.from(el.value || "").length;
    out.textContent = n;
    var max = parseInt(el.getAttribute("data-maxlength") || "0", 10);
    var wrap = out.parentElement;
    if (wrap) wrap.classList.toggle("over", max > 0 && n > max);
  }
  document.addEventListener("input", function (e) {
    if (e.target && e.target.hasAttribute && e.target.hasAttribute("data-counter")) updateCounter(e.target);
  });
  function initCounters(root) {
    (root || document).querySelectorAll("[data-counter]").forEach(updateCounter);
  }
  document.addEventListener("DOMContentLoaded", function () { initCounters(document); });
  document.addEventListener("htmx:afterSettle", function (e) { initCounters(e.target); });

  // Confirm before destructive actions: <button data-confirm="确定删除？">
  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);
})();

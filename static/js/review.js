/* Review lists: "全选本页" for bulk forms (templates/_macros/review.html). Optional:
   without JavaScript the checkbox stays hidden and rows are ticked one by one. */
(function () {
  "use strict";

  function boxes(toggle) {
    var form = toggle.getAttribute("data-select-all");
    var name = toggle.getAttribute("data-select-name") || "work_ids";
    return document.querySelectorAll('input[type=checkbox][form="' + form + '"][name="' + name + '"]');
  }

  function sync(root) {
    (root || document).querySelectorAll("[data-select-all]").forEach(function (toggle) {
      var label = toggle.closest("label");
      if (label) label.hidden = false;
      var all = boxes(toggle), on = 0;
      all.forEach(function (b) { if (b.checked) on += 1; });
      toggle.checked = all.length > 0 && on === all.length;
      toggle.indeterminate = on > 0 && on < all.length;
    });
  }

  document.addEventListener("change", function (e) {
    var t = e.target;
    if (!t || !t.matches) return;
    if (t.matches("[data-select-all]")) {
      boxes(t).forEach(function (b) { b.checked = t.checked; });
      sync();
    } else if (t.matches("input[type=checkbox][form]")) {
      sync();
    }
  });
  document.addEventListener("DOMContentLoaded", function () { sync(document); });
  document.addEventListener("htmx:afterSettle", function () { sync(document); });
})();

/* works call — applicant step forms (templates/works/apply.html).
   Every page works without this file; it adds:
   - the live total counter of the 相关媒体报道 rows.
   (Autosave behaviour is shared: static/js/autosave.js.) */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // --- 相关媒体报道: one counter for all name + link inputs -----------------------
  function updateMedia(group) {
    var total = 0;
    group.querySelectorAll("[data-media-input]").forEach(function (el) {
      total += Array.from(el.value || "").length;
    });
    var field = group.closest("fieldset") || document;
    var out = field.querySelector("[data-media-count]");
    if (!out) return;
    out.textContent = total;
    var max = parseInt(group.getAttribute("data-max") || "0", 10);
    if (out.parentElement) out.parentElement.classList.toggle("over", max > 0 && total > max);
  }
  document.addEventListener("input", function (e) {
    var group = e.target.closest && e.target.closest("[data-media-group]");
    if (group) updateMedia(group);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-media-group]").forEach(updateMedia);
  });

})();

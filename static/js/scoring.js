/* Expert scoring: live preview of the weighted total while typing. Optional — the
   server computes and stores the real total (Σ(score/max × weight) / Σweight × 100). */
(function () {
  "use strict";

  function parse(value) {
    var v = (value || "").trim();
    if (!/^\d{1,4}(\.\d)?$/.test(v)) return null;
    return parseFloat(v);
  }

  function update(form) {
    var out = form.querySelector("#sc-total");
    if (!out) return;
    var inputs = form.querySelectorAll(".sc-score-input");
    var acc = 0, weights = 0, complete = inputs.length > 0;
    inputs.forEach(function (input) {
      var max = parseFloat(input.getAttribute("data-max"));
      var weight = parseFloat(input.getAttribute("data-weight")) || 0;
      var v = parse(input.value);
      if (v === null || !(max > 0) || v > max) { complete = false; return; }
      acc += v / max * weight;
      weights += weight;
    });
    if (!complete || weights <= 0) { out.textContent = "—"; return; }
    var total = Math.round(acc / weights * 100 * 100) / 100;
    out.textContent = String(total);
  }

  document.addEventListener("input", function (e) {
    var t = e.target;
    if (t && t.classList && t.classList.contains("sc-score-input")) {
      var form = t.closest("form");
      if (form) update(form);
    }
  });
  function init(root) {
    (root || document).querySelectorAll(".sc-score-form").forEach(update);
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function () { init(document); });
})();

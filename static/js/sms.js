/* kepu — SMS code button countdown.
 * A button with data-sms-countdown="N" (rendered enabled as "重新获取验证码", so it
 * never freezes without JavaScript) is disabled here and counts down "N秒后重新获取"
 * once a second, then is re-enabled. Works for buttons rendered with the page and for
 * buttons swapped in by HTMX (POST /sms/send). */
(function () {
  "use strict";

  function start(btn) {
    if (btn.dataset.smsTicking) return;
    var left = parseInt(btn.getAttribute("data-sms-countdown") || "0", 10);
    if (!(left > 0)) return;
    btn.dataset.smsTicking = "1";
    btn.disabled = true;
    btn.textContent = left + "秒后重新获取";
    var timer = window.setInterval(function () {
      if (!document.body.contains(btn)) { window.clearInterval(timer); return; }
      left -= 1;
      if (left > 0) {
        btn.textContent = left + "秒后重新获取";
      } else {
        window.clearInterval(timer);
        btn.disabled = false;
        btn.removeAttribute("data-sms-countdown");
        delete btn.dataset.smsTicking;
        btn.textContent = "重新获取验证码";
      }
    }, 1000);
  }

  function init(root) {
    (root || document).querySelectorAll("[data-sms-countdown]").forEach(start);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // outerHTML swaps replace the event target, so rescan the document (cheap).
  document.addEventListener("htmx:afterSettle", function () { init(document); });
})();

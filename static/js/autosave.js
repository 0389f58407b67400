/* Draft autosave safety for forms rendered with autosave_attrs() of
   templates/_macros/autosave.html (form[data-autosave]); see that macro's docstring.
   - an autosave always goes to the autosave URL, never to a focused button's formaction;
   - one autosave at a time, and the latest state saved afterwards ("queue last");
   - a form submit waits for a running autosave (so the two do not race on the version),
     and no autosave starts once the form is being submitted;
   - an autosave after an upload or a file removal, so files are attached at once. */
(function () {
  "use strict";

  // --- autosave safety ------------------------------------------------------------
  function autosaveForm(el) {
    return el && el.matches && el.matches("form[data-autosave]") ? el : null;
  }

  // One autosave at a time, and the latest state always saved afterwards ("queue
  // last"). Aborting a running save (hx-sync replace) would not stop the server from
  // storing it, but its new version would never reach the page: every later save
  // would then be refused as a conflict.
  document.addEventListener("htmx:confirm", function (e) {
    var form = autosaveForm(e.detail.elt);
    if (!form) return;
    if (form._submitting) { e.preventDefault(); return; }
    if (form._autosaving) {
      e.preventDefault();
      form._autosaveAgain = true;
    }
  });

  document.addEventListener("htmx:configRequest", function (e) {
    var form = autosaveForm(e.detail.elt);
    if (!form) return;
    if (form._submitting) { e.preventDefault(); return; }
    // htmx would use the formaction of the last focused button (e.g. a file's 删除).
    e.detail.path = form.getAttribute("hx-post");
    e.detail.verb = "post";
    try { delete e.detail.parameters.action; } catch (err) { /* older htmx */ }
  });

  document.addEventListener("htmx:beforeSend", function (e) {
    var form = autosaveForm(e.detail.elt);
    if (form) form._autosaving = true;
  });

  document.addEventListener("htmx:afterRequest", function (e) {
    var form = autosaveForm(e.detail.elt);
    if (!form) return;
    form._autosaving = false;
    var submitter = form._pendingSubmitter;
    if (submitter === undefined && form._autosaveAgain) {
      form._autosaveAgain = false;
      // After the swap of the new version; htmx.trigger goes through the triggers.
      window.setTimeout(function () { if (window.htmx) window.htmx.trigger(form, "change"); }, 30);
      return;
    }
    form._autosaveAgain = false;
    if (submitter !== undefined) {
      form._pendingSubmitter = undefined;
      // Let the out-of-band swap of the new version settle, then submit for real.
      window.setTimeout(function () {
        if (submitter && form.contains(submitter)) form.requestSubmit(submitter);
        else form.requestSubmit();
      }, 30);
    }
  });

  document.addEventListener("submit", function (e) {
    var form = autosaveForm(e.target);
    if (!form) return;
    if (form._autosaving) {
      e.preventDefault();
      form._pendingSubmitter = e.submitter || null;
      return;
    }
    form._submitting = true;
  });

  window.addEventListener("pageshow", function (e) {
    if (!e.persisted) return;
    document.querySelectorAll("form[data-autosave]").forEach(function (form) {
      form._submitting = false;
      form._autosaving = false;
    });
  });

  // --- error state after an autosave ----------------------------------------------
  // The autosave answer swaps each field's error slot ([data-error-for], out of band)
  // with the field's current error. Here the error the page was rendered with goes
  // away, and aria-invalid, aria-describedby and .has-error follow the slot.
  function syncErrors(root) {
    var fields = new Map();  // .field -> has an error (any of its slots)
    root.querySelectorAll("[data-error-for]").forEach(function (slot) {
      var key = slot.getAttribute("data-error-for");
      var errId = key + "-error";
      var message = slot.querySelector(".error");
      document.querySelectorAll('[id="' + errId + '"]').forEach(function (el) {
        if (!slot.contains(el)) el.parentNode.removeChild(el);
      });
      var sel = slot.getAttribute("data-controls");
      var controls = sel ? Array.prototype.slice.call(document.querySelectorAll(sel))
        : [document.getElementById(key)].filter(Boolean);
      controls.forEach(function (c) {
        if (message) c.setAttribute("aria-invalid", "true");
        else c.removeAttribute("aria-invalid");
        var ids = (c.getAttribute("aria-describedby") || "").split(/\s+/)
          .filter(function (x) { return x && x !== errId; });
        if (message) ids.push(errId);
        if (ids.length) c.setAttribute("aria-describedby", ids.join(" "));
        else c.removeAttribute("aria-describedby");
        [c.closest(".field"), c.closest(".case-media-row")].forEach(function (box) {
          if (box) fields.set(box, fields.get(box) || !!message);
        });
      });
    });
    fields.forEach(function (hasError, box) { box.classList.toggle("has-error", hasError); });
    root.querySelectorAll("[data-upload-error]").forEach(function (box) {
      var has = !!box.querySelector(".error");
      box.hidden = !has;
      var widget = box.closest("[data-upload]");
      if (widget) widget.classList.toggle("has-error", has);
    });
  }
  document.addEventListener("htmx:afterSettle", function (e) {
    var form = e.target && e.target.closest ? e.target.closest("form[data-autosave]") : null;
    if (form) syncErrors(form);
  });

  // The upload widget answers with HX-Trigger: files-changed (upload or removal).
  document.addEventListener("files-changed", function (e) {
    var form = e.target && e.target.closest ? e.target.closest("form[data-autosave]") : null;
    if (!form || !window.htmx) return;
    window.setTimeout(function () { window.htmx.trigger(form, "change"); }, 60);
  });
})();

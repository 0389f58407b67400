/* kepu — upload widget enhancements (templates/_macros/upload.html, [data-upload]).
   htmx posts the chosen files (hx-trigger="change"); this file adds the progress bar,
   drag and drop, quick client-side checks (the server checks again) and error text. */
(function () {
  "use strict";

  function widgetOf(el) {
    return el && el.closest ? el.closest("[data-upload]") : null;
  }

  function isUploadInput(el) {
    return el && el.matches && el.matches("[data-upload] input[type=file]");
  }

  function setError(widget, messages) {
    var box = widget.querySelector("[data-upload-error]");
    if (!box) return;
    box.textContent = "";
    (messages || []).forEach(function (msg) {
      var p = document.createElement("p");
      p.className = "error";
      p.textContent = msg;
      box.appendChild(p);
    });
    box.hidden = !(messages && messages.length);
    widget.classList.toggle("has-error", !box.hidden);
  }

  function setProgress(widget, percent, visible) {
    var wrap = widget.querySelector("[data-upload-progress]");
    if (!wrap) return;
    var bar = wrap.querySelector("progress");
    var text = wrap.querySelector("[data-upload-percent]");
    if (percent !== null) {
      bar.value = percent;
      text.textContent = percent + "%";
    }
    wrap.hidden = !visible;
  }

  function extOf(name) {
    var i = name.lastIndexOf(".");
    return i > 0 ? name.slice(i + 1).toLowerCase() : "";
  }

  // Mirror of the server's extension/size checks, so a 500 MB mistake is not uploaded.
  function precheck(widget, files) {
    var exts = (widget.getAttribute("data-exts") || "").split(",");
    var max = parseInt(widget.getAttribute("data-max-bytes") || "0", 10);
    var errors = [];
    Array.prototype.forEach.call(files, function (f) {
      var prefix = files.length > 1 ? f.name + "：" : "";
      if (exts.indexOf(extOf(f.name)) < 0) {
        errors.push(prefix + widget.getAttribute("data-ext-message"));
      } else if (max && f.size > max) {
        errors.push(prefix + widget.getAttribute("data-size-message"));
      } else if (f.size === 0) {
        errors.push(prefix + "文件为空，请重新选择");
      }
    });
    return errors;
  }

  document.addEventListener("htmx:beforeRequest", function (e) {
    var input = e.detail.elt;
    if (!isUploadInput(input)) return;
    var widget = widgetOf(input);
    if (!input.files || !input.files.length) { e.preventDefault(); return; }
    var errors = precheck(widget, input.files);
    if (errors.length) {
      e.preventDefault();
      input.value = "";
      setError(widget, errors);
      return;
    }
    setError(widget, []);
    widget.classList.add("uploading");
    widget.setAttribute("aria-busy", "true");
    widget._uploadMax = 0;
    setProgress(widget, 0, true);
  });

  document.addEventListener("htmx:xhr:progress", function (e) {
    var input = e.target;
    if (!isUploadInput(input) || !e.detail.lengthComputable || !e.detail.total) return;
    var widget = widgetOf(input);
    // Upload and download progress share this event: never go backwards.
    var pct = Math.min(100, Math.floor(e.detail.loaded * 100 / e.detail.total));
    if (pct < (widget._uploadMax || 0)) return;
    widget._uploadMax = pct;
    setProgress(widget, pct, true);
  });

  document.addEventListener("htmx:afterRequest", function (e) {
    var input = e.detail.elt;
    if (!isUploadInput(input)) return;
    var widget = widgetOf(input);
    widget.classList.remove("uploading");
    widget.removeAttribute("aria-busy");
    // The files now live on the server; clear the input so a later plain form
    // submit does not send them twice, and choosing the same file fires change.
    input.value = "";
    var status = e.detail.xhr ? e.detail.xhr.status : 0;
    // 422 (a refused file) is swapped in as a message: no "100%" next to it.
    if (e.detail.successful && status < 400) {
      setProgress(widget, 100, true);
      window.setTimeout(function () { setProgress(widget, null, false); }, 800);
    } else {
      setProgress(widget, null, false);
    }
  });

  document.addEventListener("htmx:responseError", function (e) {
    var input = e.detail.elt;
    if (!isUploadInput(input)) return;
    var status = e.detail.xhr ? e.detail.xhr.status : 0;
    setError(widgetOf(input), [status === 413
      ? "文件过大，超过了允许的上传大小"
      : "上传失败（" + status + "），请稍后重试"]);
  });

  document.addEventListener("htmx:sendError", function (e) {
    var input = e.detail.elt;
    if (!isUploadInput(input)) return;
    setError(widgetOf(input), ["网络异常，上传失败，请检查网络后重试"]);
  });

  // Drag and drop onto the dropzone: hand the files to the real input.
  function zoneOf(el) {
    return el && el.closest ? el.closest("[data-upload] [data-dropzone]") : null;
  }
  document.addEventListener("dragover", function (e) {
    var zone = zoneOf(e.target);
    if (!zone) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
    zone.classList.add("dragover");
  });
  document.addEventListener("dragleave", function (e) {
    var zone = zoneOf(e.target);
    if (zone && !zone.contains(e.relatedTarget)) zone.classList.remove("dragover");
  });
  document.addEventListener("drop", function (e) {
    var zone = zoneOf(e.target);
    if (!zone) return;
    e.preventDefault();
    zone.classList.remove("dragover");
    var input = zone.querySelector("input[type=file]");
    var files = e.dataTransfer && e.dataTransfer.files;
    if (!input || !files || !files.length) return;
    if (!input.multiple && files.length > 1) {
      var dt = new DataTransfer();
      dt.items.add(files[0]);
      files = dt.files;
    }
    input.files = files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
})();

/* The hosted payment page's script: live status (long poll), countdown, copy buttons, the
   "I have paid" upload with progress, cancel, and the return to the store. No dependencies. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("jp-data").textContent);
  var t = data.texts;
  var state = data.order;
  var offset = Date.parse(state.now) - Date.now(); // the server's clock minus ours
  var redirectTimer = null;

  function $(id) { return document.getElementById(id); }
  function show(el, visible) { if (el) { el.hidden = !visible; } }
  function text(id, value) { var el = $(id); if (el) { el.textContent = value == null ? "" : value; } }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key] == null ? "" : values[key]; });
  }
  function humanSize(bytes) {
    if (bytes < 1024) { return bytes + " B"; }
    if (bytes < 1048576) { return (bytes / 1024).toFixed(0) + " KB"; }
    return (bytes / 1048576).toFixed(1) + " MB";
  }

  function error(message) {
    var el = $("jp-error");
    el.textContent = message || "";
    show(el, Boolean(message));
  }

  function render(next) {
    var changed = next.phase !== state.phase;
    state = next;
    offset = Date.parse(next.now) - Date.now();
    var sections = document.querySelectorAll("[data-phase]");
    for (var i = 0; i < sections.length; i++) {
      sections[i].hidden = sections[i].getAttribute("data-phase") !== next.phase;
    }
    text("jp-amount", next.pay_amount || next.amount);
    text("jp-sum", next.pay_amount || "");
    show($("jp-shifted"), next.shifted);
    if (next.shifted) {
      text("jp-shifted", fill(t.shifted_note, { pay_amount: next.pay_amount, amount: next.amount, currency: next.currency }));
    }
    var requisite = next.requisite || {};
    text("jp-number", requisite.display || requisite.number);
    text("jp-owner", requisite.owner_name);
    text("jp-bank", requisite.bank);
    show($("jp-bank-row"), Boolean(requisite.bank));
    if (requisite.type && t["number_" + requisite.type]) { text("jp-number-label", t["number_" + requisite.type]); }
    show($("jp-pay"), next.phase === "pay");
    var cancel = $("jp-cancel");
    show(cancel, next.can_cancel);
    show($("jp-timer-box"), Boolean(next.expires_at));
    tick();
    show($("jp-final"), next.final);
    var back = $("jp-return");
    if (next.final && next.return_url) {
      back.href = next.return_url;
      show(back, true);
      show($("jp-redirect"), true);
      if (!redirectTimer) {
        redirectTimer = setTimeout(function () { window.location.assign(next.return_url); }, data.redirect_seconds * 1000);
      }
    }
    if (changed) { error(""); }
  }

  function tick() {
    var box = $("jp-timer");
    if (!state.expires_at) { return; }
    var left = Math.max(0, Math.floor((Date.parse(state.expires_at) - (Date.now() + offset)) / 1000));
    var seconds = String(left % 60);
    box.textContent = fill(t.minutes_seconds, {
      minutes: Math.floor(left / 60), seconds: seconds.length < 2 ? "0" + seconds : seconds
    });
  }
  setInterval(tick, 1000);
  tick();

  function poll() {
    if (state.final) { return; }
    var url = data.base + "/state?wait=25&since=" + encodeURIComponent(state.phase);
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store", credentials: "omit" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (next) { render(next); setTimeout(poll, 200); })
      .catch(function () { setTimeout(poll, 3000); });
  }

  function explain(status, body) {
    var problem = body && body.error ? body.error : {};
    if (problem.code === "order_not_assigned") { return t.error_not_assigned; }
    if (status === 413) { return fill(t.error_too_big, { size: "", max_mb: data.max_mb }); }
    return fill(t.error_generic, { message: problem.message || String(status) });
  }

  // copy buttons: the clipboard API, or selecting the text for a manual copy
  var copies = document.querySelectorAll("button[data-copy]");
  for (var c = 0; c < copies.length; c++) {
    copies[c].addEventListener("click", function (event) {
      var button = event.currentTarget;
      var source = $(button.getAttribute("data-copy"));
      var value = source.textContent.replace(/\s+/g, button.getAttribute("data-copy") === "jp-number" ? "" : " ").trim();
      var done = function () {
        button.textContent = t.copied;
        setTimeout(function () { button.textContent = t.copy_label; }, 2000);
      };
      var fallback = function () {
        var range = document.createRange();
        range.selectNodeContents(source);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        error(t.copy_failed);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(value).then(done, fallback);
      } else {
        fallback();
      }
    });
  }

  // "I have paid", with the optional receipt: checked here first, sent with progress
  var form = $("jp-confirm");
  var input = $("jp-receipt");
  input.addEventListener("change", function () {
    error("");
    var file = input.files && input.files[0];
    if (file) { text("jp-receipt-hint", fill(t.receipt_chosen, { name: file.name, size: humanSize(file.size) })); }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = input.files && input.files[0];
    if (file) {
      if (["application/pdf", "image/png", "image/jpeg"].indexOf(file.type) < 0) { error(t.error_type); return; }
      if (file.size > data.max_bytes) {
        error(fill(t.error_too_big, { size: humanSize(file.size), max_mb: data.max_mb }));
        return;
      }
    }
    var button = form.querySelector("button[type=submit]");
    var progress = $("jp-progress");
    button.disabled = true;
    error("");
    var request = new XMLHttpRequest();
    request.open("POST", data.base + "/confirm");
    request.setRequestHeader("Accept", "application/json");
    if (file) {
      show(progress, true);
      request.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          progress.value = Math.round((e.loaded / e.total) * 100);
          button.textContent = fill(t.uploading, { percent: progress.value });
        }
      });
    }
    request.addEventListener("load", function () {
      button.disabled = false;
      button.textContent = t.paid;
      show(progress, false);
      var body = null;
      try { body = JSON.parse(request.responseText); } catch (ignored) { body = null; }
      if (request.status === 200 && body) { render(body); poll(); return; }
      error(explain(request.status, body));
    });
    request.addEventListener("error", function () {
      button.disabled = false;
      button.textContent = t.paid;
      show(progress, false);
      error(t.error_network);
    });
    request.send(file ? new FormData(form) : null);
  });

  // cancel: asked twice (the first press turns the button into "Yes, cancel")
  var cancelForm = $("jp-cancel");
  if (cancelForm) {
    var armed = false;
    cancelForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = $("jp-cancel-button");
      if (!armed) {
        armed = true;
        button.textContent = t.cancel_confirm;
        error(t.cancel_question);
        setTimeout(function () { armed = false; button.textContent = t.cancel; }, 6000);
        return;
      }
      button.disabled = true;
      fetch(data.base + "/cancel", { method: "POST", headers: { Accept: "application/json" }, credentials: "omit" })
        .then(function (response) {
          return response.json().then(function (body) { return { status: response.status, body: body }; });
        })
        .then(function (answer) {
          button.disabled = false;
          if (answer.status === 200) { render(answer.body); } else { error(explain(answer.status, answer.body)); }
        })
        .catch(function () { button.disabled = false; error(t.error_network); });
    });
  }

  render(state);
  poll();
})();

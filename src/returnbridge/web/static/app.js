// ReturnBridge back-office: small progressive enhancements. Pages work without this file.
(function () {
  "use strict";

  // The session's CSRF token, rendered by the server into <meta name="csrf-token">.
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // fetch() for the JSON API: same-origin cookies plus the X-CSRF-Token header every write needs.
  function apiFetch(url, options) {
    var opts = Object.assign({ credentials: "same-origin" }, options || {});
    var headers = new Headers(opts.headers || {});
    var method = (opts.method || "GET").toUpperCase();
    if (method !== "GET" && method !== "HEAD") {
      headers.set("X-CSRF-Token", csrfToken());
    }
    if (!headers.has("Accept")) {
      headers.set("Accept", "application/json");
    }
    opts.headers = headers;
    return fetch(url, opts);
  }

  // <form data-confirm="Question?">: ask before submitting (disable a user, replace a password, ...).
  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) {
          event.preventDefault();
        }
      });
    });
  }

  // <button data-copy="element-id">: copy that element's text (a generated password) to the clipboard.
  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        if (!source || !navigator.clipboard) {
          return;
        }
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          button.textContent = "Copied";
        });
      });
    });
  }

  // <span class="countdown" data-deadline="ISO time">: the time left until a seller deadline, kept current.
  function countdownText(deadline, now) {
    var seconds = Math.round((deadline - now) / 1000);
    var span = Math.abs(seconds);
    var days = Math.floor(span / 86400);
    var hours = Math.floor((span % 86400) / 3600);
    var minutes = Math.floor((span % 3600) / 60);
    var text = days ? days + " d " + hours + " h" : hours ? hours + " h " + minutes + " min" : minutes + " min";
    return seconds >= 0 ? text + " left" : "overdue by " + text;
  }

  function countdowns() {
    var spans = document.querySelectorAll(".countdown[data-deadline]");
    if (!spans.length) {
      return;
    }
    function tick() {
      var now = Date.now();
      spans.forEach(function (span) {
        var deadline = Date.parse(span.getAttribute("data-deadline"));
        if (!isNaN(deadline)) {
          span.textContent = countdownText(deadline, now);
          span.classList.toggle("overdue", deadline < now);
        }
      });
    }
    tick();
    window.setInterval(tick, 30000);
  }

  window.returnbridge = { csrfToken: csrfToken, fetch: apiFetch };
  document.addEventListener("DOMContentLoaded", function () {
    confirmForms();
    copyButtons();
    countdowns();
  });
})();

// Only improvements: every page works without this file.
(function () {
  "use strict";

  // The interstitial: go now instead of waiting for the meta refresh.
  var redirect = document.querySelector("[data-testid=redirect]");
  if (redirect) {
    var target = redirect.getAttribute("data-target");
    if (/^https?:\/\//.test(target)) {
      window.location.replace(target);
    }
  }

  // A pending result: ask for the status and reload only when it changes.
  var result = document.querySelector("[data-poll]");
  if (result) {
    var url = result.getAttribute("data-poll");
    var seconds = Number(result.getAttribute("data-poll-seconds")) || 2;
    var shown = result.getAttribute("data-status");
    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (body) {
          if (body.status && body.status !== shown && body.status !== "error") {
            window.location.reload();
          } else {
            window.setTimeout(poll, seconds * 1000);
          }
        })
        .catch(function () { window.setTimeout(poll, seconds * 1000); });
    };
    window.setTimeout(poll, seconds * 1000);
  }

  // A plan button: one click is enough; show that it was taken.
  document.querySelectorAll("form[action='/checkout/start']").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button");
      if (button) {
        button.setAttribute("aria-busy", "true");
      }
    });
  });
})();

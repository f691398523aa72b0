// A setup run's page: while the run is queued or running, ask for new log text every second
// and append it as text (never HTML). Without script the page shows the log as it was loaded.
(function () {
  "use strict";
  var MAX_FAILURES = 30;  // consecutive failed polls before giving up

  function start() {
    var page = document.getElementById("setup-run");
    if (!page || !page.dataset.statusUrl) return;
    var url = page.dataset.statusUrl;
    var offset = parseInt(page.dataset.offset || "0", 10) || 0;
    var log = document.getElementById("setup-run-log");
    var badge = document.getElementById("setup-run-status");
    var error = document.getElementById("setup-run-error");
    var warm = document.getElementById("setup-run-warm");
    var commit = document.getElementById("setup-run-commit");
    var failures = 0;

    function follow() {
      return log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    }

    function apply(data) {
      if (data.log) {
        var stick = follow();
        log.appendChild(document.createTextNode(data.log));
        if (stick) log.scrollTop = log.scrollHeight;
      }
      offset = data.offset;
      badge.textContent = data.status_label;
      badge.className = "badge badge-" + data.status;
      if (data.commit && commit) {
        commit.querySelector("code").textContent = data.commit;
        commit.hidden = false;
      }
      if (data.error) { error.textContent = data.error; error.hidden = false; }
      if (data.warm_hit || data.warm_made) {
        warm.textContent = data.warm_hit ? "A current warm image existed; nothing had to run."
          : "The prepared container was saved: the next attempt starts warm.";
        warm.hidden = false;
      }
      return data.active;
    }

    function poll() {
      fetch(url + "?offset=" + offset, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (data) { failures = 0; if (apply(data)) setTimeout(poll, 1000); })
        .catch(function () { if (++failures < MAX_FAILURES) setTimeout(poll, 2000); });
    }
    setTimeout(poll, 1000);
  }

  if (document.readyState !== "loading") start(); else document.addEventListener("DOMContentLoaded", start);
})();

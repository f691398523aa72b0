// Small enhancements; every page works without them.
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  // Confirmation before destructive actions (forms carrying data-confirm).
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) ev.preventDefault();
  });

  // Phone layout: the sidebar slides in.
  onReady(function () {
    var toggle = document.querySelector(".sidebar-toggle");
    var sidebar = document.getElementById("sidebar");
    if (!toggle || !sidebar) return;
    toggle.addEventListener("click", function () {
      var open = sidebar.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  });

  // Repository picker: type-ahead filtering against the server (fast with thousands).
  onReady(function () {
    var search = document.getElementById("repo-search");
    var select = document.getElementById("id_repository");
    var branch = document.getElementById("id_base_branch");
    if (!search || !select) return;
    var timer = null, seq = 0;
    function fill(results) {
      var chosen = select.value;
      select.textContent = "";
      var blank = document.createElement("option");
      blank.value = ""; blank.textContent = results.length ? "Choose a repository" : "No repository matches";
      select.appendChild(blank);
      results.forEach(function (r) {
        var opt = document.createElement("option");
        opt.value = String(r.id); opt.textContent = r.full_name; opt.dataset.defaultBranch = r.default_branch;
        if (String(r.id) === chosen) opt.selected = true;
        select.appendChild(opt);
      });
      if (results.length === 1) { select.value = String(results[0].id); select.dispatchEvent(new Event("change")); }
    }
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var mine = ++seq;
        fetch(search.dataset.pickerUrl + "?q=" + encodeURIComponent(search.value), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { results: [] }; })
          .then(function (data) { if (mine === seq) fill(data.results); });
      }, 120);
    });
    select.addEventListener("change", function () {
      var opt = select.options[select.selectedIndex];
      if (branch && opt && opt.dataset.defaultBranch && !branch.value) branch.placeholder = opt.dataset.defaultBranch;
    });
  });

  // Task page: poll status until finished (the live websocket log replaces this later).
  onReady(function () {
    var task = document.querySelector(".task[data-status-url]");
    if (!task || task.dataset.finished === "true") return;
    var polls = 0;
    var timer = setInterval(function () {
      if (++polls > 720) { clearInterval(timer); return; }
      fetch(task.dataset.statusUrl, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) { if (data.finished) { clearInterval(timer); window.location.reload(); } });
    }, 2000);
  });
})();

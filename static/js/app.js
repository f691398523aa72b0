// Small enhancements; every page works without them (no build step, no dependencies).
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

  // A one-time secret or link shown once (new API token, invite link): select it on focus so it
  // copies in one go. (An inline onfocus would be refused by the Content-Security-Policy.)
  document.addEventListener("focusin", function (ev) {
    var el = ev.target;
    if (el.matches && el.matches("input[data-select-on-focus]")) el.select();
  });

  // Selects that apply a filter as soon as they change (the history filters).
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) el.form.submit();
  });

  // A form that came back with errors: move focus to its error summary, so screen readers
  // announce it and keyboard users can jump to each field from its link.
  onReady(function () {
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  });

  // The composer: Ask, Code and Review need a prompt and a repository. Say which is missing next
  // to its field before anything is sent (a round trip would drop attached images; the server
  // refuses the same post with the same words, tasks/forms.py).
  var COMPOSER_REQUIRED = [
    ["id_prompt", "Describe what you want the agent to do."],
    ["id_repository", "Choose a repository."]
  ];

  function showFieldError(field, message) {
    var box = field.closest(".field");
    var id = field.id + "_error";
    var error = document.getElementById(id);
    if (!message) {
      if (error) error.remove();
      if (box) box.classList.remove("has-error");
      field.removeAttribute("aria-invalid");
      return;
    }
    if (!error) {
      error = document.createElement("div");
      error.className = "field-error";
      error.id = id;
      (box || field.parentNode).appendChild(error);
    }
    error.textContent = "";
    var p = document.createElement("p");
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = "Error: ";
    p.appendChild(hidden);
    p.appendChild(document.createTextNode(message));
    error.appendChild(p);
    if (box) box.classList.add("has-error");
    field.setAttribute("aria-invalid", "true");
    var described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (described.indexOf(id) === -1) field.setAttribute("aria-describedby", described.concat([id]).join(" "));
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.classList || !form.classList.contains("composer")) return;
    var first = null;
    COMPOSER_REQUIRED.forEach(function (pair) {
      var field = document.getElementById(pair[0]);
      if (!field || field.disabled) return;
      var missing = !field.value;
      showFieldError(field, missing ? pair[1] : "");
      if (missing && !first) first = field;
    });
    if (first) {
      ev.preventDefault();
      first.focus();
    }
  });
  ["input", "change"].forEach(function (type) {
    document.addEventListener(type, function (ev) {
      var field = ev.target;
      if (!field.form || !field.form.classList.contains("composer") || !field.value) return;
      if (field.getAttribute("aria-invalid") !== "true") return;
      var known = COMPOSER_REQUIRED.some(function (pair) { return pair[0] === field.id; });
      if (known) showFieldError(field, "");
    });
  });

  // Phone layout: the sidebar slides in over the page; Escape or the backdrop closes it.
  onReady(function () {
    var toggle = document.querySelector(".sidebar-toggle");
    var sidebar = document.getElementById("sidebar");
    var backdrop = document.querySelector(".sidebar-backdrop");
    if (!toggle || !sidebar) return;
    var main = document.getElementById("main");
    function setOpen(open) {
      sidebar.classList.toggle("open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      if (backdrop) backdrop.hidden = !open;
      if (main) main.inert = open;  // the page behind the open sidebar takes no focus or clicks
      if (open) {
        var first = sidebar.querySelector("a, button, select, summary");
        if (first) first.focus();
      }
    }
    toggle.addEventListener("click", function () { setOpen(!sidebar.classList.contains("open")); });
    if (backdrop) backdrop.addEventListener("click", function () { setOpen(false); toggle.focus(); });
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && sidebar.classList.contains("open")) { setOpen(false); toggle.focus(); }
    });
  });

  // Repository picker: type-ahead filtering against the server (fast with thousands).
  // Without script the full <select> is there; with it, the search box narrows the list.
  onReady(function () {
    var search = document.getElementById("repo-search");
    var select = document.getElementById("id_repository");
    var branch = document.getElementById("id_base_branch");
    var status = document.getElementById("repo-search-status");
    var visibility = document.getElementById("repo-visibility");
    if (!search || !select) return;
    search.hidden = false;
    if (visibility) visibility.hidden = false;
    var timer = null, seq = 0;

    function announce(text) { if (status) status.textContent = text; }

    function fill(results) {
      var chosen = select.value;
      select.textContent = "";
      var blank = document.createElement("option");
      blank.value = "";
      blank.textContent = results.length ? "Choose a repository" : "No repository matches";
      select.appendChild(blank);
      results.forEach(function (r) {
        var opt = document.createElement("option");
        opt.value = String(r.id);
        opt.textContent = r.full_name;
        opt.dataset.defaultBranch = r.default_branch;
        if (r.branches_url) opt.dataset.branchesUrl = r.branches_url;
        if (r.pulls_url) opt.dataset.pullsUrl = r.pulls_url;
        if (String(r.id) === chosen) opt.selected = true;
        select.appendChild(opt);
      });
      if (results.length === 1) select.value = String(results[0].id);
      select.dispatchEvent(new Event("change"));
      announce(results.length === 0 ? "No repository matches." :
        results.length === 1 ? "1 repository matches: " + results[0].full_name + ", selected." :
        results.length + " repositories match.");
    }

    function query() {
      var mine = ++seq;
      var url = search.dataset.pickerUrl + "?q=" + encodeURIComponent(search.value);
      if (visibility && visibility.value) url += "&visibility=" + encodeURIComponent(visibility.value);
      fetch(url, {
        credentials: "same-origin", headers: { "Accept": "application/json" }
      })
        .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
        .then(function (data) { if (mine === seq) fill(data.results); })
        .catch(function () { if (mine === seq) announce("Could not search repositories; choose from the list."); });
    }

    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(query, 150);
    });
    // Nothing typed yet: the first focus lists the repositories this person used last first.
    search.addEventListener("focus", function () {
      if (!search.value && !search.dataset.loaded) { search.dataset.loaded = "1"; query(); }
    });
    if (visibility) visibility.addEventListener("change", query);
    search.addEventListener("keydown", function (ev) {
      // Enter picks the first match instead of submitting the task half-filled.
      if (ev.key === "Enter") {
        ev.preventDefault();
        if (!select.value && select.options.length > 1) {
          select.selectedIndex = 1;
          select.dispatchEvent(new Event("change"));
        }
        select.focus();
      } else if (ev.key === "ArrowDown") {
        ev.preventDefault();
        select.focus();
      }
    });
    select.addEventListener("change", function () {
      var opt = select.options[select.selectedIndex];
      if (branch) branch.placeholder = (opt && opt.dataset.defaultBranch) || "";
    });
  });

  // Branch suggestions: the chosen repository's branches (from the server's mirror) fill the
  // branch input's <datalist>. A stale mirror is fetched in the background: ask again a few times.
  onReady(function () {
    var select = document.getElementById("id_repository");
    var list = document.getElementById("branch-options");
    if (!select || !list) return;
    var seq = 0, timer = null;

    function fill(names) {
      list.textContent = "";
      names.forEach(function (name) {
        var opt = document.createElement("option");
        opt.value = name;
        list.appendChild(opt);
      });
    }

    function load(url, mine, triesLeft) {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
        .then(function (res) {
          if (mine !== seq) return;
          if (!res.ok) { fill([]); return; }
          fill(res.data.branches || []);
          if (res.data.refreshing && triesLeft > 0) {
            timer = setTimeout(function () { load(url, mine, triesLeft - 1); }, 2000);
          }
        })
        .catch(function () { if (mine === seq) fill([]); });
    }

    function chosen() {
      var mine = ++seq;
      clearTimeout(timer);
      var opt = select.options[select.selectedIndex];
      if (!opt || !opt.dataset.branchesUrl) { fill([]); return; }
      load(opt.dataset.branchesUrl, mine, 5);
    }

    select.addEventListener("change", chosen);
    if (select.value) chosen();
  });

  // Pull request suggestions: the chosen repository's open pull requests (GitHub only, listed
  // by the server and kept there for a minute) fill the "Or pull request" field's <datalist>;
  // typing a number or URL still works. A failure is said in a sentence under the field; one
  // that may pass (GitHub answered 5xx, or the app could not be reached) offers Retry.
  onReady(function () {
    var select = document.getElementById("id_repository");
    var list = document.getElementById("pull-options");
    var box = document.getElementById("pull-options-box");
    var status = document.getElementById("pull-options-status");
    var retry = document.getElementById("pull-options-retry");
    if (!select || !list) return;
    var seq = 0;

    function say(text, retryable) {
      if (!box || !status) return;
      status.textContent = text;
      box.hidden = !text;
      if (retry) retry.hidden = !retryable;
    }

    function fill(pulls) {
      list.textContent = "";
      pulls.forEach(function (p) {
        var opt = document.createElement("option");
        opt.value = "#" + p.number;
        opt.label = "#" + p.number + " " + p.title + " (" + p.head + ")" + (p.draft ? " · draft" : "");
        list.appendChild(opt);
      });
    }

    function chosen() {
      var mine = ++seq;
      fill([]);
      say("");
      var opt = select.options[select.selectedIndex];
      if (!opt || !opt.dataset.pullsUrl) return;
      fetch(opt.dataset.pullsUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) {
          return r.json().then(function (data) { return { status: r.status, data: data }; });
        })
        .then(function (answer) {
          if (mine !== seq) return;
          var data = answer.data || {};
          fill(data.pulls || []);
          var again = answer.status >= 500;
          say(data.error || "", again && !!data.error);
        })
        .catch(function () {
          if (mine === seq) say("Could not list the pull requests. Retry, or type a number or URL.", true);
        });
    }

    select.addEventListener("change", chosen);
    if (retry) retry.addEventListener("click", chosen);
    if (select.value) chosen();
  });

  // Repositories page: while a fetch from GitHub runs, poll its state and reload when it ends.
  onReady(function () {
    var box = document.getElementById("sync-status");
    if (!box || !box.hasAttribute("data-running")) return;
    var tries = 90;  // three minutes; after that, the person can reload themselves
    function poll() {
      if (tries-- <= 0) return;
      fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
        .then(function (data) { if (data.running) setTimeout(poll, 2000); else window.location.reload(); })
        .catch(function () { setTimeout(poll, 5000); });
    }
    setTimeout(poll, 2000);
  });
})();

// The live task page: one websocket per attempt (/ws/attempts/<id>/?after=SEQ) feeding the
// timeline (messages, commands with their output chunks), plus tabs, citations, the diff and the
// file viewer. Everything from the agent is inserted with textContent, never as HTML; the only
// HTML inserted comes from our own server-rendered, sanitized fragments.
(function () {
  "use strict";

  var FINISHED = { succeeded: 1, failed: 1, cancelled: 1, stopped: 1 };
  var LABELS = { queued: "Queued", running: "Running", succeeded: "Succeeded", failed: "Failed",
                 cancelled: "Cancelled", stopped: "Stopped" };
  var WINDOW = 500;          // lines a chunk keeps rendered while the log follows new output
  var PAGE = 1000;           // lines each "show earlier" click adds
  var COLLAPSE_AFTER = 40;   // a finished command with more output lines starts collapsed
  var MAX_RETRIES = 40;      // reconnect attempts before giving up (each waits up to 10 s)
  var SYNC_EVERY_MS = 20000; // ask the server for anything a dropped nudge hid
  var TEST_COMMAND = /\b(pytest|py\.test|tox|nox|unittest|npm (run )?test|yarn test|pnpm test|go test|cargo test|make (test|check)|mvn test|gradle test|rspec|phpunit|jest|vitest|ctest)\b/;
  var ANSI = /\x1b\[[0-?]*[ -\/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]/g;
  var CONTROLS = /[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]/g;
  // Line breaks as Python's str.splitlines sees them: the agent numbers cited lines that way.
  var LINE_BREAK = /\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]/;

  function onReady(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // One output line for display: escape sequences and control characters removed.
  function cleanLine(raw) {
    return String(raw).replace(ANSI, "").replace(CONTROLS, "");
  }

  function clock(iso) {
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toTimeString().slice(0, 8);
  }

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) return seconds + "s";
    var m = Math.floor(seconds / 60), s = seconds % 60;
    if (m < 60) return m + "m " + s + "s";
    return Math.floor(m / 60) + "h " + (m % 60) + "m";
  }

  function setBadge(node, status) {
    if (!node || !LABELS[status]) return;
    node.className = node.className.replace(/\bbadge-[a-z]+\b/g, "").trim() + " badge-" + status;
    node.textContent = LABELS[status];
  }

  // ---------------------------------------------------------------- rendering scheduler
  var dirty = new Set();
  var dirtyPanels = new Set();
  var scheduled = false;
  function schedule(chunk) {
    dirty.add(chunk);
    dirtyPanels.add(chunk.panel);
    if (!scheduled) {
      scheduled = true;
      (window.requestAnimationFrame || setTimeout)(flush);
    }
  }
  function flush() {
    scheduled = false;
    dirty.forEach(function (chunk) { chunk.renderNew(); });
    dirty.clear();
    dirtyPanels.forEach(function (panel) { panel.afterRender(); });
    dirtyPanels.clear();
  }

  // ---------------------------------------------------------------- terminal chunks
  function Chunk(panel, id, command, cwd, at) {
    this.panel = panel;
    this.id = id;
    this.lines = [];
    this.errs = [];
    this.partial = "";
    this.partialErr = false;
    this.shownFrom = 0;
    this.renderedTo = 0;
    this.finished = false;
    this.userToggled = false;
    this.isTest = TEST_COMMAND.test(command || "");

    var li = el("li", "ev ev-command");
    var details = el("details", "chunk");
    details.id = "chunk-" + id;
    details.dataset.chunk = id;
    details.open = true;
    var summary = el("summary");
    if (at) summary.appendChild(el("span", "ev-time", clock(at)));
    summary.appendChild(el("span", "cmd", command || "(output)"));
    if (cwd) summary.title = "in " + cwd;
    this.exitEl = el("span", "exit exit-run", command ? "running" : "");
    summary.appendChild(this.exitEl);
    var link = el("a", "chunk-id", id);
    link.href = "#chunk-" + encodeURIComponent(id);
    link.title = "Link to this output (chunk id " + id + ")";
    summary.appendChild(link);
    this.more = el("button", "chunk-more");
    this.more.type = "button";
    this.more.hidden = true;
    this.out = el("pre", "chunk-out");
    details.appendChild(summary);
    details.appendChild(this.more);
    details.appendChild(this.out);
    li.appendChild(details);
    this.li = li;
    this.details = details;

    var self = this;
    this.more.addEventListener("click", function () {
      self.shownFrom = Math.max(0, self.shownFrom - PAGE);
      self.renderAll();
    });
    summary.addEventListener("click", function () { self.userToggled = true; });
    details.addEventListener("toggle", function () {
      if (!details.open) { self.out.textContent = ""; self.partialNode = null; self.renderedTo = self.shownFrom = 0; return; }
      if (!self.out.firstChild) { self.shownFrom = Math.max(0, self.lines.length - WINDOW); self.renderAll(); }
    });
  }

  Chunk.prototype.append = function (text, isErr) {
    var raw = this.partial + String(text);
    // A final \r may be the first half of \r\n split across two events: keep it for now.
    var hold = raw.charAt(raw.length - 1) === "\r" ? "\r" : "";
    if (hold) raw = raw.slice(0, -1);
    var parts = raw.split(LINE_BREAK);
    this.partial = parts.pop() + hold;
    if (parts.length) {
      for (var i = 0; i < parts.length; i++) {
        this.lines.push(cleanLine(parts[i]));
        this.errs.push(isErr || (i === 0 && this.partialErr));
      }
    }
    this.partialErr = isErr;
    if (this.details.open) schedule(this);
  };

  Chunk.prototype.lineCount = function () {
    return this.lines.length + (this.partial ? 1 : 0);
  };

  Chunk.prototype.lineNode = function (index, text, isErr) {
    var span = el("span", isErr ? "ln err" : "ln", text);
    span.dataset.n = String(index + 1);
    return span;
  };

  Chunk.prototype.renderPartial = function () {
    if (this.partialNode) { this.partialNode.remove(); this.partialNode = null; }
    if (this.partial) {
      this.partialNode = this.lineNode(this.lines.length, cleanLine(this.partial), this.partialErr);
      this.out.appendChild(this.partialNode);
    }
  };

  Chunk.prototype.updateMore = function () {
    this.more.hidden = this.shownFrom === 0;
    this.more.textContent = "Show " + Math.min(PAGE, this.shownFrom) + " earlier lines (" + this.shownFrom + " hidden)";
  };

  // Re-render the window [shownFrom, end) from scratch (opening, citations, "show earlier").
  Chunk.prototype.renderAll = function () {
    if (!this.details.open) return;
    var frag = document.createDocumentFragment();
    for (var i = this.shownFrom; i < this.lines.length; i++) frag.appendChild(this.lineNode(i, this.lines[i], this.errs[i]));
    this.out.textContent = "";
    this.partialNode = null;
    this.out.appendChild(frag);
    this.renderedTo = this.lines.length;
    this.renderPartial();
    this.updateMore();
  };

  // Append what arrived since the last frame; while following, keep at most 2×WINDOW lines.
  Chunk.prototype.renderNew = function () {
    if (!this.details.open) return;
    if (!this.out.firstChild) { this.shownFrom = Math.max(0, this.lines.length - WINDOW); this.renderAll(); return; }
    if (this.partialNode) { this.partialNode.remove(); this.partialNode = null; }
    var start = this.renderedTo;
    if (this.lines.length - start > 2 * WINDOW && this.panel.following) {
      start = this.lines.length - WINDOW;
      this.out.textContent = "";
      this.shownFrom = start;
    }
    var frag = document.createDocumentFragment();
    for (var i = start; i < this.lines.length; i++) frag.appendChild(this.lineNode(i, this.lines[i], this.errs[i]));
    this.out.appendChild(frag);
    this.renderedTo = this.lines.length;
    if (this.panel.following && this.renderedTo - this.shownFrom > 2 * WINDOW) {
      var drop = this.renderedTo - this.shownFrom - WINDOW;
      for (var k = 0; k < drop && this.out.firstChild; k++) this.out.removeChild(this.out.firstChild);
      this.shownFrom += drop;
    }
    this.renderPartial();
    this.updateMore();
  };

  Chunk.prototype.end = function (p) {
    this.finished = true;
    var code = p.exit_code;
    var text, cls;
    if (p.timed_out) { text = "timed out"; cls = "exit-fail"; }
    else if (code === null || code === undefined) { text = p.error ? "error" : "ended"; cls = "exit-fail"; }
    else { text = "exit " + code; cls = code === 0 ? "exit-ok" : "exit-fail"; }
    if (typeof p.duration === "number") text += " · " + p.duration.toFixed(1) + "s";
    if (p.truncated) text += " · output truncated";
    this.exitEl.className = "exit " + cls;
    this.exitEl.textContent = text;
    if (p.error) this.exitEl.title = String(p.error);
    if (!this.userToggled && this.lineCount() > COLLAPSE_AFTER && location.hash !== "#chunk-" + this.id) {
      this.details.open = false;
    }
  };

  // Open the chunk, render lines start..end (1-based) and mark them; returns the first line node.
  Chunk.prototype.reveal = function (start, end) {
    this.userToggled = true;
    this.panel.following = false;
    this.panel.updateJump();
    if (!this.details.open) {
      this.shownFrom = Math.max(0, Math.min(start - 21, this.lines.length - WINDOW));
      this.details.open = true;
    } else if (start - 1 < this.shownFrom) {
      this.shownFrom = Math.max(0, start - 21);
    }
    this.renderAll();
    var first = null;
    this.panel.root.querySelectorAll(".ln.cited").forEach(function (n) { n.classList.remove("cited"); });
    this.out.querySelectorAll(".ln").forEach(function (n) {
      var no = Number(n.dataset.n);
      if (no >= start && no <= end) { n.classList.add("cited"); if (!first) first = n; }
    });
    return first;
  };

  // ---------------------------------------------------------------- one attempt panel
  function Panel(root, page) {
    this.root = root;
    this.page = page;
    this.id = root.dataset.attemptId;
    this.index = root.dataset.index;
    this.lastSeq = 0;
    this.chunks = {};
    this.following = true;
    this.retries = 0;
    this.tokens = 0;
    this.cost = 0;
    this.status = root.dataset.status;
    this.log = root.querySelector("[data-log]");
    this.timeline = root.querySelector("[data-timeline]");
    this.empty = root.querySelector("[data-log-empty]");
    this.jump = root.querySelector("[data-jump]");
    this.conn = root.querySelector("[data-conn]");
    this.tab = document.querySelector('[data-attempt-tab="' + this.id + '"]');
    this.resultLoaded = !!root.querySelector("[data-result-for]");
    var self = this;
    this.log.addEventListener("scroll", function () {
      var atBottom = self.log.scrollHeight - self.log.scrollTop - self.log.clientHeight < 40;
      if (atBottom !== self.following) { self.following = atBottom; self.updateJump(); }
    });
    this.jump.addEventListener("click", function () {
      self.following = true;
      self.updateJump();
      self.log.scrollTop = self.log.scrollHeight;
    });
  }

  Panel.prototype.updateJump = function () { this.jump.hidden = this.following; };

  Panel.prototype.afterRender = function () {
    if (this.following && !this.root.hidden) this.log.scrollTop = this.log.scrollHeight;
  };

  Panel.prototype.add = function (li) {
    if (this.empty) { this.empty.remove(); this.empty = null; }
    this.timeline.appendChild(li);
    dirtyPanels.add(this);
    if (!scheduled) { scheduled = true; (window.requestAnimationFrame || setTimeout)(flush); }
  };

  Panel.prototype.note = function (kind, text, at) {
    var li = el("li", "ev ev-" + kind);
    if (at) li.appendChild(el("span", "ev-time", clock(at)));
    li.appendChild(el("span", "line-text", text));
    this.add(li);
    return li;
  };

  Panel.prototype.chunk = function (id, command, cwd, at) {
    id = String(id || "unknown");
    if (!this.chunks[id]) {
      this.chunks[id] = new Chunk(this, id, command, cwd, at);
      this.add(this.chunks[id].li);
    }
    return this.chunks[id];
  };

  Panel.prototype.setTests = function (state) {
    var node = this.tab && this.tab.querySelector("[data-tab-tests]");
    if (node) node.textContent = state ? "tests " + state : "no tests";
  };

  Panel.prototype.handle = function (ev) {
    var p = ev.payload || {};
    var at = ev.created_at;
    switch (ev.kind) {
      case "status": this.onStatus(String(p.status || ""), String(p.message || ""), at); break;
      case "phase": this.note("phase", "▸ " + (p.phase || "") + (p.message ? ": " + p.message : ""), at); break;
      case "message": {
        var li = el("li", "ev ev-message");
        li.appendChild(el("div", "msg", p.text || ""));
        this.add(li);
        break;
      }
      case "reasoning": this.note("reasoning", p.text || "", at); break;
      case "command": {
        var c = this.chunk(p.chunk_id, String(p.command || ""), String(p.cwd || ""), at);
        if (c.isTest) this.setTests("running");
        break;
      }
      case "output": this.chunk(p.chunk_id).append(p.text || "", p.stream === "stderr"); break;
      case "command_end": {
        var chunk = this.chunk(p.chunk_id);
        chunk.end(p);
        if (chunk.isTest) this.setTests(p.exit_code === 0 ? "passed" : "failed");
        break;
      }
      case "patch": {
        var files = Array.isArray(p.files) ? p.files.map(String).join(", ") : "";
        this.note(p.ok ? "patch" : "tool_error", (p.ok ? "✎ edited " : "✎ patch failed: ") + (p.ok ? files : String(p.error || "")), at);
        break;
      }
      case "tool_error": this.note("tool_error", "Tool " + (p.tool || "?") + ": " + (p.error || ""), at); break;
      case "usage": {
        this.tokens = (Number(p.input_tokens) || 0) + (Number(p.output_tokens) || 0);
        this.cost = Number(p.cost) || 0;
        var t = this.root.querySelector("[data-tokens]");
        if (t) t.textContent = this.tokens.toLocaleString("en-US");
        var cost = this.root.querySelector("[data-cost]");
        if (cost) cost.textContent = this.cost ? "$" + this.cost.toFixed(4) : "—";
        this.page.updateTotals();
        break;
      }
      case "egress": this.note("egress", "network " + (p.method || "") + " " + (p.domain || "") + (p.allowed ? " allowed" : " blocked"), at); break;
      case "summary": this.note("status", "✓ Final summary written.", at); break;
      case "error": this.note("error", String(p.message || "Error"), at); break;
      default: break;
    }
  };

  Panel.prototype.onStatus = function (status, message, at) {
    if (!LABELS[status]) return;
    this.status = status;
    this.root.dataset.status = status;
    setBadge(this.root.querySelector("[data-attempt-status]"), status);
    setBadge(this.tab && this.tab.querySelector("[data-attempt-status]"), status);
    this.note("status", LABELS[status] + (message ? " — " + message : ""), at);
    var since = this.root.querySelector("[data-elapsed]");
    if (status === "running" && since && !since.dataset.since) since.dataset.since = at;
    if (FINISHED[status]) {
      if (since && !since.dataset.until) since.dataset.until = at;
      this.root.dataset.finished = "true";
      var cancel = this.root.querySelector("[data-cancel]");
      if (cancel) cancel.remove();
      var retry = this.root.querySelector("[data-retry]");
      if (retry) retry.hidden = !(status === "failed" || status === "cancelled");
      if (status !== "succeeded" && message) {
        var err = this.root.querySelector("[data-attempt-error]");
        if (err) { err.textContent = message; err.hidden = false; }
      }
      this.loadResult();
    }
    this.page.tickElapsed();
  };

  Panel.prototype.loadResult = function () {
    if (this.resultLoaded) return;
    this.resultLoaded = true;
    var self = this;
    var box = this.root.querySelector("[data-result]");
    fetch(this.root.dataset.resultUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
      .then(function (html) {
        // Our own template: every agent-provided string in it is escaped or nh3-sanitized.
        box.innerHTML = html;
        var inner = box.querySelector("[data-result-for]");
        if (inner) self.showStats(inner);
        self.watchPullRequest();
      })
      .catch(function () {
        self.resultLoaded = false;
        box.textContent = "";
        box.appendChild(el("p", "attempt-error", "Could not load the result. Reload the page to try again."));
      });
  };

  // While a pull request is being created (a background job), refresh the result now and then.
  Panel.prototype.watchPullRequest = function () {
    var self = this;
    if (this.prTimer || !this.root.querySelector("[data-pr-creating]")) return;
    var polls = 0;
    this.prTimer = setInterval(function () {
      if (++polls > 100 || !self.root.querySelector("[data-pr-creating]")) {
        clearInterval(self.prTimer); self.prTimer = null; return;
      }
      fetch(self.root.dataset.resultUrl, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) return;
          var box = self.root.querySelector("[data-result]");
          var open = Array.prototype.map.call(box.querySelectorAll("details.diff-file"), function (d) { return d.open; });
          box.innerHTML = html;  // our template, as in loadResult
          box.querySelectorAll("details.diff-file").forEach(function (d, i) { if (i < open.length) d.open = open[i]; });
        })
        .catch(function () {});
    }, 3000);
  };

  Panel.prototype.showStats = function (inner) {
    var lines = this.tab && this.tab.querySelector("[data-tab-lines]");
    if (lines && this.page.article.dataset.mode === "ask") {
      lines.textContent = "read-only";
    } else if (lines) {
      lines.textContent = "";
      if (Number(inner.dataset.files)) {
        lines.appendChild(el("span", "plus", "+" + inner.dataset.added));
        lines.appendChild(document.createTextNode(" "));
        lines.appendChild(el("span", "minus", "−" + inner.dataset.removed));
      } else {
        lines.textContent = "no changes";
      }
    }
    if (inner.dataset.tests) this.setTests(inner.dataset.tests);
  };

  Panel.prototype.connect = function () {
    var self = this;
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(proto + location.host + this.root.dataset.wsPath + "?after=" + this.lastSeq);
    var timer = null;
    this.ws = ws;
    ws.onopen = function () {
      self.retries = 0;
      self.opened = (self.opened || 0) + 1;
      self.conn.textContent = "";
      timer = setInterval(function () {
        if (ws.readyState === 1) ws.send(JSON.stringify({ type: "sync" }));
      }, SYNC_EVERY_MS);
    };
    ws.onmessage = function (msg) {
      var data;
      try { data = JSON.parse(msg.data); } catch (e) { return; }
      if (!data || data.type !== "event" || !data.event) return;
      var ev = data.event;
      if (typeof ev.seq !== "number" || ev.seq <= self.lastSeq) return;  // never twice
      self.lastSeq = ev.seq;
      self.root.dataset.lastSeq = String(ev.seq);
      try { self.handle(ev); } catch (e) { if (window.console) console.error(e); }
    };
    ws.onclose = function (e) {
      clearInterval(timer);
      if (self.page.unloading) return;
      if (e.code === 4404) { self.conn.textContent = "This attempt is not available."; return; }
      if (++self.retries > MAX_RETRIES) {
        self.conn.textContent = "Live updates stopped. Reload the page to resume.";
        return;
      }
      var delay = Math.min(10000, 250 * Math.pow(2, self.retries));
      self.conn.textContent = "Connection lost; reconnecting…";
      setTimeout(function () { self.connect(); }, delay);
    };
  };

  // ---------------------------------------------------------------- the page
  function Page(article) {
    var self = this;
    this.article = article;
    this.panels = [];
    this.unloading = false;
    article.querySelectorAll(".attempt-panel").forEach(function (root) {
      var panel = new Panel(root, self);
      self.panels.push(panel);
    });
    window.addEventListener("pagehide", function () { self.unloading = true; });
    window.addEventListener("beforeunload", function () { self.unloading = true; });
  }

  Page.prototype.updateTotals = function () {
    var tokens = 0, cost = 0;
    this.panels.forEach(function (p) { tokens += p.tokens; cost += p.cost; });
    var t = document.getElementById("task-tokens");
    if (t) t.textContent = tokens.toLocaleString("en-US");
    var c = document.getElementById("task-cost");
    if (c) c.textContent = cost ? "$" + cost.toFixed(4) : "—";
  };

  Page.prototype.panelFor = function (node) {
    var root = node.closest(".attempt-panel");
    for (var i = 0; i < this.panels.length; i++) if (this.panels[i].root === root) return this.panels[i];
    return null;
  };

  Page.prototype.select = function (index, focus) {
    var chosen = null;
    this.panels.forEach(function (p) {
      var on = String(p.index) === String(index);
      p.root.hidden = !on;
      if (p.tab) {
        p.tab.setAttribute("aria-selected", on ? "true" : "false");
        p.tab.tabIndex = on ? 0 : -1;
      }
      if (on) chosen = p;
    });
    if (!chosen && this.panels.length) return this.select(this.panels[0].index, focus);
    if (chosen) {
      if (focus && chosen.tab) chosen.tab.focus();
      chosen.afterRender();
    }
    return chosen;
  };

  Page.prototype.wireTabs = function () {
    var self = this;
    var tabs = this.panels.map(function (p) { return p.tab; }).filter(Boolean);
    tabs.forEach(function (tab, i) {
      tab.addEventListener("click", function (e) {
        e.preventDefault();
        var p = self.panels[i];
        self.select(p.index);
        history.replaceState(null, "", "#attempt-" + p.index);
      });
      tab.addEventListener("keydown", function (e) {
        var step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
        if (!step) return;
        e.preventDefault();
        var p = self.panels[(i + step + self.panels.length) % self.panels.length];
        self.select(p.index, true);
        history.replaceState(null, "", "#attempt-" + p.index);
      });
    });
    var m = /^#attempt-(\d+)$/.exec(location.hash);
    this.select(m ? m[1] : this.panels.length ? this.panels[0].index : null);
  };

  // Citations, diff, copy, viewer: delegated so fragments loaded later work the same.
  Page.prototype.wireClicks = function () {
    var self = this;
    var viewer = document.getElementById("file-viewer");
    document.addEventListener("click", function (e) {
      var target = e.target instanceof Element ? e.target : null;
      if (!target) return;
      var cite = target.closest("a[data-cite]");
      if (cite && !e.ctrlKey && !e.metaKey && !e.shiftKey) {
        e.preventDefault();
        if (cite.dataset.cite === "terminal") self.openTerminal(cite); else self.openFile(cite, viewer);
        return;
      }
      if (target.closest("[data-viewer-close]") && viewer) { viewer.close(); return; }
      var copy = target.closest("[data-copy]");
      if (copy) {
        var source = copy.parentElement.querySelector("[data-copy-source]");
        var text = source ? source.textContent : "";
        var done = function () { copy.textContent = "Copied"; setTimeout(function () { copy.textContent = "Copy"; }, 1500); };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(text).then(done, function () { selectText(source); });
        } else { selectText(source); }
        return;
      }
      var expand = target.closest("[data-diff-expand], [data-diff-collapse]");
      if (expand) {
        var open = expand.hasAttribute("data-diff-expand");
        expand.closest(".diff").querySelectorAll("details.diff-file").forEach(function (d) { d.open = open; });
      }
    });
    // Collapsed big files keep their rows in a <template> until opened (lazy render).
    document.addEventListener("toggle", function (e) {
      var d = e.target;
      if (!(d instanceof HTMLDetailsElement) || !d.open || !d.classList.contains("diff-file")) return;
      var tpl = d.querySelector("template[data-lazy]");
      if (tpl) {
        tpl.replaceWith(tpl.content.cloneNode(true));
        var note = d.querySelector("[data-lazy-note]");
        if (note) note.remove();
      }
    }, true);
  };

  function selectText(node) {
    if (!node) return;
    var range = document.createRange();
    range.selectNodeContents(node);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  Page.prototype.openTerminal = function (cite) {
    var panel = this.panelFor(cite) || this.panels[0];
    var chunk = panel && panel.chunks[cite.dataset.chunk];
    if (!chunk) {
      cite.title = "This output is not in the log (yet).";
      cite.classList.add("cite-missing");
      return;
    }
    var start = Number(cite.dataset.start) || 1;
    var end = Number(cite.dataset.end) || start;
    var first = chunk.reveal(start, end);
    (first || chunk.details).scrollIntoView({ block: "center" });
    chunk.details.classList.add("flash");
    setTimeout(function () { chunk.details.classList.remove("flash"); }, 1500);
  };

  Page.prototype.openFile = function (cite, viewer) {
    if (!viewer || typeof viewer.showModal !== "function") { location.href = cite.href; return; }
    var body = viewer.querySelector("[data-viewer-body]");
    var title = viewer.querySelector("h2");
    title.textContent = cite.dataset.path + (cite.dataset.start ? " · lines " + cite.dataset.start + "–" + cite.dataset.end : "");
    viewer.querySelector("[data-viewer-open]").href = cite.href;
    body.textContent = "Loading…";
    if (!viewer.open) viewer.showModal();
    var url = cite.href + (cite.href.indexOf("?") === -1 ? "?" : "&") + "partial=1";
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
      .then(function (html) {
        body.innerHTML = html;  // our template; file lines escaped by Pygments rendering
        var line = body.querySelector("tr.hl-line");
        if (line) line.scrollIntoView({ block: "center" });
      })
      .catch(function () { body.textContent = "Could not load the file."; });
  };

  Page.prototype.tickElapsed = function () {
    var now = Date.now();
    document.querySelectorAll("[data-elapsed]").forEach(function (node) {
      var since = Date.parse(node.dataset.since || "");
      if (isNaN(since)) return;
      var until = Date.parse(node.dataset.until || "");
      node.textContent = duration(((isNaN(until) ? now : until) - since) / 1000);
    });
  };

  Page.prototype.start = function () {
    var self = this;
    this.wireTabs();
    this.wireClicks();
    this.panels.forEach(function (p) { p.connect(); p.watchPullRequest(); });
    this.tickElapsed();
    setInterval(function () { self.tickElapsed(); }, 1000);
    // The team socket (team-live.js) reports task status changes.
    var applyTaskStatus = function (task) {
      if (String(task.id) !== self.article.dataset.taskId) return;
      setBadge(document.getElementById("task-status"), task.status);
      var elapsed = document.getElementById("task-elapsed");
      if (elapsed && FINISHED[task.status] && !elapsed.dataset.until) elapsed.dataset.until = new Date().toISOString();
      if (elapsed && !FINISHED[task.status]) elapsed.dataset.until = "";
    };
    document.addEventListener("codexweb:task", function (e) { applyTaskStatus(e.detail || {}); });
    // A status the team socket reported before this page started listening.
    var known = (window.codexwebTaskStatus || {})[this.article.dataset.taskId];
    if (known) applyTaskStatus({ id: this.article.dataset.taskId, status: known });
    // A link to #chunk-ID (shared or clicked) opens that output once the log has it.
    var openHashChunk = function () {
      var m = /^#chunk-(.+)$/.exec(location.hash);
      if (!m) return;
      var id = decodeURIComponent(m[1]);
      self.panels.forEach(function (p) {
        var chunk = p.chunks[id];
        if (!chunk) return;
        self.select(p.index);
        chunk.details.open = true;
        chunk.details.scrollIntoView({ block: "start" });
      });
    };
    window.addEventListener("hashchange", openHashChunk);
    setTimeout(openHashChunk, 800);
  };

  onReady(function () {
    var article = document.querySelector("article.live-task");
    if (!article) return;
    var page = new Page(article);
    window.codexwebLive = page;  // for tests and debugging
    page.start();
  });
})();

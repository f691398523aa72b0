// The live task page (templates/tasks/detail.html): one Panel per attempt, each with its own
// socket (/ws/attempts/<id>/?after=SEQ) and windowed terminal; this module wires the tabs, the
// citation links (terminal lines, or a file in the viewer dialog), copy buttons, diff expand and
// lazy rows, the elapsed clocks and the task's status from the team socket (team-live.js).
// Loaded as an ES module: deferred, strict, no globals except window.codexwebLive for tests.
import { isFinished, setBadge } from "./contract.js";
import { coveredSeconds, duration, selectText } from "./dom.js";
import { fetchFragment } from "./fragments.js";
import { Panel } from "./panel.js";

class Page {
  constructor(article) {
    this.article = article;
    this.panels = Array.from(article.querySelectorAll(".attempt-panel"), (root) => new Panel(root, this));
  }

  updateTotals() {
    let tokens = 0, cost = 0;
    this.panels.forEach((p) => { tokens += p.tokens; cost += p.cost; });
    const t = document.getElementById("task-tokens");
    if (t) t.textContent = tokens.toLocaleString("en-US");
    const c = document.getElementById("task-cost");
    if (c) c.textContent = cost ? "$" + cost.toFixed(4) : "—";
  }

  panelFor(node) {
    const root = node.closest(".attempt-panel");
    return this.panels.find((p) => p.root === root) || null;
  }

  select(index, focus) {
    let chosen = null;
    this.panels.forEach((p) => {
      const on = String(p.index) === String(index);
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
      chosen.terminal.afterRender();
    }
    return chosen;
  }

  wireTabs() {
    this.panels.forEach((p, i) => {
      if (!p.tab) return;
      p.tab.addEventListener("click", (e) => {
        e.preventDefault();
        this.select(p.index);
        history.replaceState(null, "", "#attempt-" + p.index);
      });
      p.tab.addEventListener("keydown", (e) => {
        const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
        if (!step) return;
        e.preventDefault();
        const next = this.panels[(i + step + this.panels.length) % this.panels.length];
        this.select(next.index, true);
        history.replaceState(null, "", "#attempt-" + next.index);
      });
    });
    const m = /^#attempt-(\d+)$/.exec(location.hash);
    this.select(m ? m[1] : this.panels.length ? this.panels[0].index : null);
  }

  /** Citations, diff, copy, viewer: delegated, so fragments loaded later work the same. */
  wireClicks() {
    const viewer = document.getElementById("file-viewer");
    document.addEventListener("click", (e) => {
      const target = e.target instanceof Element ? e.target : null;
      if (!target) return;
      const cite = target.closest("a[data-cite]");
      if (cite && !e.ctrlKey && !e.metaKey && !e.shiftKey) {
        e.preventDefault();
        if (cite.dataset.cite === "terminal") this.openTerminal(cite); else this.openFile(cite, viewer);
        return;
      }
      if (target.closest("[data-viewer-close]") && viewer) { viewer.close(); return; }
      const copy = target.closest("[data-copy]");
      if (copy) {
        copyText(copy);
        return;
      }
      const expand = target.closest("[data-diff-expand], [data-diff-collapse]");
      if (expand) {
        const open = expand.hasAttribute("data-diff-expand");
        expand.closest(".diff").querySelectorAll("details.diff-file").forEach((d) => { d.open = open; });
      }
    });
    // Collapsed big files keep their rows in a <template> until opened (lazy render).
    document.addEventListener("toggle", (e) => {
      const d = e.target;
      if (!(d instanceof HTMLDetailsElement) || !d.open || !d.classList.contains("diff-file")) return;
      const tpl = d.querySelector("template[data-lazy]");
      if (tpl) {
        tpl.replaceWith(tpl.content.cloneNode(true));
        const note = d.querySelector("[data-lazy-note]");
        if (note) note.remove();
      }
    }, true);
  }

  openTerminal(cite) {
    const own = this.panelFor(cite) || this.panels[0];
    // A follow-up may cite output of the attempt it continues: that attempt's tab is opened.
    const panel = own && own.chunks[cite.dataset.chunk] ? own
      : this.panels.find((p) => p.chunks[cite.dataset.chunk]);
    const chunk = panel && panel.chunks[cite.dataset.chunk];
    if (panel && panel !== own) this.select(panel.index);
    if (!chunk) {
      cite.title = "This output is not in the log (yet).";
      cite.classList.add("cite-missing");
      return;
    }
    const start = Number(cite.dataset.start) || 1;
    const end = Number(cite.dataset.end) || start;
    const first = chunk.reveal(start, end);
    (first || chunk.details).scrollIntoView({ block: "center" });
    chunk.details.classList.add("flash");
    setTimeout(() => chunk.details.classList.remove("flash"), 1500);
  }

  openFile(cite, viewer) {
    if (!viewer || typeof viewer.showModal !== "function") { location.href = cite.href; return; }
    const body = viewer.querySelector("[data-viewer-body]");
    viewer.querySelector("h2").textContent = cite.dataset.path +
      (cite.dataset.start ? " · lines " + cite.dataset.start + "–" + cite.dataset.end : "");
    viewer.querySelector("[data-viewer-open]").href = cite.href;
    body.textContent = "Loading…";
    if (!viewer.open) viewer.showModal();
    const url = cite.href + (cite.href.indexOf("?") === -1 ? "?" : "&") + "partial=1";
    fetchFragment(url)
      .then((html) => {
        body.innerHTML = html;  // our template; file lines escaped by Pygments rendering
        const line = body.querySelector("tr.hl-line");
        if (line) line.scrollIntoView({ block: "center" });
      })
      .catch(() => { body.textContent = "Could not load the file."; });
  }

  tickElapsed() {
    const now = Date.now();
    const spans = this.attemptSpans(now);
    const waited = document.getElementById("task-waited");
    if (waited && !waited.dataset.until && spans.length) {  // the first attempt started
      waited.dataset.until = new Date(Math.min(...spans.map((s) => s[0]))).toISOString();
    }
    document.querySelectorAll("[data-elapsed]").forEach((node) => {
      const since = Date.parse(node.dataset.since || "");
      if (isNaN(since)) return;
      const until = Date.parse(node.dataset.until || "");
      node.textContent = duration(((isNaN(until) ? now : until) - since) / 1000);
    });
    const ran = document.getElementById("task-ran");
    if (ran) ran.textContent = duration(coveredSeconds(spans));
  }

  /** [start, end] in ms of each attempt that started (end: now while it runs). */
  attemptSpans(now) {
    const spans = [];
    this.panels.forEach((p) => {
      const node = p.root.querySelector("[data-elapsed]");
      const since = Date.parse((node && node.dataset.since) || "");
      if (isNaN(since)) return;
      const until = Date.parse(node.dataset.until || "");
      spans.push([since, isNaN(until) ? now : until]);
    });
    return spans;
  }

  /** The task's own status, as the team socket (team-live.js) reports it. */
  applyTaskStatus(task) {
    if (String(task.id) !== this.article.dataset.taskId) return;
    setBadge(document.getElementById("task-status"), task.status);
    const waited = document.getElementById("task-waited");  // ended before any attempt started
    if (waited && isFinished(task.status) && !waited.dataset.until) waited.dataset.until = new Date().toISOString();
  }

  /** A link to #chunk-ID (shared or clicked) opens that output once the log has it: on a hash
   * change, and when a panel's replayed log is shown (`only`: look in that panel alone). */
  openHashChunk(only) {
    const m = /^#chunk-(.+)$/.exec(location.hash);
    if (!m) return;
    const id = decodeURIComponent(m[1]);
    (only ? [only] : this.panels).forEach((p) => {
      const chunk = p.chunks[id];
      if (!chunk) return;
      this.select(p.index);
      chunk.details.open = true;
      chunk.details.scrollIntoView({ block: "start" });
    });
  }

  start() {
    this.wireTabs();
    this.wireClicks();
    this.panels.forEach((p) => { p.connect(); p.watchPullRequest(); });
    this.tickElapsed();
    setInterval(() => this.tickElapsed(), 1000);
    document.addEventListener("codexweb:task", (e) => this.applyTaskStatus(e.detail || {}));
    // A status the team socket reported before this module started listening.
    const known = (window.codexwebTaskStatus || {})[this.article.dataset.taskId];
    if (known) this.applyTaskStatus({ id: this.article.dataset.taskId, status: known });
    window.addEventListener("hashchange", () => this.openHashChunk());
  }
}

function copyText(button) {
  const source = button.parentElement.querySelector("[data-copy-source]");
  const text = source ? source.textContent : "";
  const done = () => {
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  };
  if (navigator.clipboard && navigator.clipboard.writeText) {
    navigator.clipboard.writeText(text).then(done, () => selectText(source));
  } else {
    selectText(source);
  }
}

// A module runs once the document is parsed: no DOMContentLoaded wait is needed.
const article = document.querySelector("article.live-task");
if (article) {
  const page = new Page(article);
  window.codexwebLive = page;  // for tests and debugging
  page.start();
}

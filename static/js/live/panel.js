// One attempt's panel: its socket feeds events (kinds from tasks/event_kinds.py, by name through
// contract.js) into the terminal, the badges and the counters; when the attempt ends the result
// and diff fragment is fetched, and refreshed while a pull request is being created.
import { KIND, STATUS, isFinished, setBadge, statusLabel, statusRank } from "./contract.js";
import { el } from "./dom.js";
import { egressApproved, egressNote, retireApprovals } from "./egress.js";
import { fetchFragment, swapFragment } from "./fragments.js";
import { LiveSocket } from "./socket.js";
import { Terminal } from "./terminal.js";

const SYNC_EVERY_MS = 20000;  // ask the server for anything a dropped nudge hid
const PR_POLL_MS = 3000;
const PR_POLLS = 100;

const CONNECTION_NOTES = {
  open: "",
  retrying: "Connection lost; reconnecting…",
  refused: "This attempt is not available.",
  "gave-up": "Live updates stopped. Reload the page to resume.",
};

export class Panel {
  constructor(root, page) {
    this.root = root;
    this.page = page;
    this.id = root.dataset.attemptId;
    this.index = root.dataset.index;
    this.lastSeq = 0;
    // The server drew the badges, tab and counters as of event `replayTo`; the socket replays
    // the log up to there (hidden, then shown at once) before the live events.
    this.replayTo = Number(root.dataset.replayTo) || 0;
    this.tokens = Number(root.dataset.tokensTotal) || 0;
    this.cost = Number(root.dataset.costTotal) || 0;
    this.status = root.dataset.status;
    this.terminal = new Terminal(root);
    this.conn = root.querySelector("[data-conn]");
    this.tab = document.querySelector('[data-attempt-tab="' + this.id + '"]');
    this.resultLoaded = !!root.querySelector("[data-result-for]");
    this.prTimer = null;
    this.socket = new LiveSocket(root.dataset.wsPath, {
      query: () => "?after=" + this.lastSeq,
      syncEveryMs: SYNC_EVERY_MS,
      onMessage: (data) => this.receive(data),
      onState: (state) => {
        this.conn.textContent = CONNECTION_NOTES[state] || "";
        if (state === "refused" || state === "gave-up") this.endReplay();  // show what came
      },
    });
    if (this.replaying) root.dataset.replaying = "true";
  }

  /** True while the socket is still sending the events the server-drawn page already counts. */
  get replaying() { return this.lastSeq < this.replayTo; }

  // Read by tests and when debugging (window.codexwebLive.panels[0]...).
  get chunks() { return this.terminal.chunks; }
  get ws() { return this.socket.ws; }
  get opened() { return this.socket.opened; }

  connect() { this.socket.connect(); }

  /** A socket message: events are applied once each, in seq order. */
  receive(data) {
    if (data.type !== "event" || !data.event) return;
    const ev = data.event;
    if (typeof ev.seq !== "number" || ev.seq <= this.lastSeq) return;  // never twice
    const replayed = ev.seq <= this.replayTo;
    this.lastSeq = ev.seq;
    this.root.dataset.lastSeq = String(ev.seq);
    try { this.handle(ev, replayed); } catch (e) { console.error(e); }
    if (!replayed) return;
    if (this.replaying) this.terminal.progress(ev.seq, this.replayTo);
    else this.endReplay();
  }

  /** The log has caught up with the page: show it whole (once). */
  endReplay() {
    if (this.root.dataset.replaying !== "true") return;
    delete this.root.dataset.replaying;
    this.terminal.reveal();
    this.page.openHashChunk(this);
  }

  setTests(state) {
    const node = this.tab && this.tab.querySelector("[data-tab-tests]");
    if (node) node.textContent = state ? "tests " + state : "no tests";
  }

  /** One event; `replayed`: the server-drawn tab and counters already include it. */
  handle(ev, replayed) {
    const p = ev.payload || {};
    const at = ev.created_at;
    const log = this.terminal;
    switch (ev.kind) {
      case KIND.STATUS: this.onStatus(String(p.status || ""), String(p.message || ""), at); break;
      case KIND.PHASE: log.note("phase", "▸ " + (p.phase || "") + (p.message ? ": " + p.message : ""), at); break;
      case KIND.MESSAGE: log.message(p.text || ""); break;
      case KIND.REASONING: log.note("reasoning", p.text || "", at); break;
      case KIND.COMMAND: {
        const chunk = log.chunk(p.chunk_id, String(p.command || ""), String(p.cwd || ""), at);
        if (chunk.isTest && !replayed) this.setTests("running");
        break;
      }
      case KIND.OUTPUT: log.chunk(p.chunk_id).append(p.text || "", p.stream === "stderr"); break;
      case KIND.COMMAND_END: {
        const chunk = log.chunk(p.chunk_id);
        chunk.end(p);
        if (chunk.isTest && !replayed) {
          this.setTests(p.exit_code !== 0 ? "failed" : chunk.isPiped ? "ran" : "passed");
        }
        break;
      }
      case KIND.PATCH: {
        const files = Array.isArray(p.files) ? p.files.map(String).join(", ") : "";
        if (p.ok) log.note("patch", "✎ edited " + files, at);
        else log.note("tool_error", "✎ patch failed: " + String(p.error || ""), at);
        break;
      }
      case KIND.TOOL_ERROR: log.note("tool_error", "Tool " + (p.tool || "?") + ": " + (p.error || ""), at); break;
      case KIND.USAGE: if (!replayed) this.onUsage(p); break;
      case KIND.EGRESS: egressNote(this, p, at); break;
      case KIND.EGRESS_APPROVAL: egressApproved(this, p, at); break;
      case KIND.STEER: {
        const said = String(p.text || "").trim();
        const what = said ? "✉ " + String(p.by || "someone") + ": " + said : "";
        if (p.late) {
          log.note("tool_error", "✉ " + String(p.by || "someone") + "'s message arrived after the agent's last step; it was not read. Send it as a follow-up: " + said, at);
          break;
        }
        if (what) log.note("steer", what, at);
        if (p.stop) log.note("steer", "■ " + String(p.by || "someone") + " asked the agent to stop after this step.", at);
        break;
      }
      case KIND.IMAGES: log.note("images", "🖼 " + String(p.message || ""), at); break;
      case KIND.SUMMARY: log.note("status", "✓ Final summary written.", at); break;
      case KIND.REVIEW: {
        const n = (p.findings || []).length, bad = (p.malformed || []).length;
        log.note("status", "✓ Review: " + n + " finding" + (n === 1 ? "" : "s") + (bad ? ", " + bad + " unreadable" : "") + ".", at);
        break;
      }
      case KIND.ERROR: log.note("error", String(p.message || "Error"), at); break;
      default: break;
    }
  }

  onUsage(p) {
    this.tokens = (Number(p.input_tokens) || 0) + (Number(p.output_tokens) || 0);
    this.cost = Number(p.cost) || 0;
    const tokens = this.root.querySelector("[data-tokens]");
    if (tokens) tokens.textContent = this.tokens.toLocaleString("en-US");
    const cost = this.root.querySelector("[data-cost]");
    if (cost) cost.textContent = this.cost ? "$" + this.cost.toFixed(4) : "—";
    this.page.updateTotals();
  }

  /** A status event: always a line in the log; the badges only ever move forward (a replayed
   * "Queued" must not cover the "Succeeded" the server drew, nor a late event a newer one). */
  onStatus(status, message, at) {
    const label = statusLabel(status);
    if (!label) return;
    this.terminal.note("status", label + (message ? " — " + message : ""), at);
    if (statusRank(status) < statusRank(this.status)) return;
    this.status = status;
    this.root.dataset.status = status;
    setBadge(this.root.querySelector("[data-attempt-status]"), status);
    setBadge(this.tab && this.tab.querySelector("[data-attempt-status]"), status);
    const since = this.root.querySelector("[data-elapsed]");
    if (status === STATUS.RUNNING && since && !since.dataset.since) since.dataset.since = at;
    if (isFinished(status)) {
      if (since && !since.dataset.until) since.dataset.until = at;
      this.root.dataset.finished = "true";
      this.terminal.interruptOpen();
      const cancel = this.root.querySelector("[data-cancel]");
      if (cancel) cancel.remove();
      const steer = this.root.querySelector("[data-steer]");
      if (steer) steer.remove();  // the result's follow-up box takes over
      retireApprovals(this.root);
      const retry = this.root.querySelector("[data-retry]");
      if (retry) retry.hidden = !(status === STATUS.FAILED || status === STATUS.CANCELLED);
      if (status !== STATUS.SUCCEEDED && message) {
        const err = this.root.querySelector("[data-attempt-error]");
        if (err) { err.textContent = message; err.hidden = false; }
      }
      this.loadResult();
    }
    this.page.tickElapsed();
  }

  async loadResult() {
    if (this.resultLoaded) return;
    this.resultLoaded = true;
    const box = this.root.querySelector("[data-result]");
    try {
      swapFragment(box, await fetchFragment(this.root.dataset.resultUrl));
    } catch (e) {
      this.resultLoaded = false;
      box.textContent = "";
      box.appendChild(el("p", "attempt-error", "Could not load the result. Reload the page to try again."));
      return;
    }
    const inner = box.querySelector("[data-result-for]");
    if (inner) this.showStats(inner);
    if (box.querySelector("[data-ended-reason]")) {  // the result says why it ended: once is enough
      const err = this.root.querySelector("[data-attempt-error]");
      if (err) err.hidden = true;
    }
    this.watchPullRequest();
  }

  /** While a pull request is being created (a background job), refresh the result now and then. */
  watchPullRequest() {
    if (!this.root.querySelector("[data-pr-creating]")) {
      if (this.resultLoaded) this.clearPullRequestProgress();
      return;
    }
    if (this.prTimer) return;
    let polls = 0;
    this.prTimer = setInterval(() => {
      const creating = this.root.querySelector("[data-pr-creating]");
      if (++polls > PR_POLLS || !creating) {
        clearInterval(this.prTimer);
        this.prTimer = null;
        if (!creating) this.clearPullRequestProgress();
        return;
      }
      fetchFragment(this.root.dataset.resultUrl)
        .then((html) => swapFragment(this.root.querySelector("[data-result]"), html, { keepOpen: true }))
        .catch(() => {});
    }, PR_POLL_MS);
  }

  /** The "Creating the pull request…" message of this attempt (views_live.pr_progress_tag) is
   * stale once the result shows the pull request (or its error): remove it. */
  clearPullRequestProgress() {
    document.querySelectorAll(".message-pr-progress-" + this.id).forEach((m) => {
      const box = m.parentElement;
      m.remove();
      if (box && box.classList.contains("messages") && !box.children.length) box.remove();
    });
  }

  /** The tab's "+12 −3" / "no changes" and tests state, from the loaded result. */
  showStats(inner) {
    const lines = this.tab && this.tab.querySelector("[data-tab-lines]");
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
  }
}

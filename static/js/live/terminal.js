// The windowed terminal of an attempt's log: a timeline of notes and command chunks, where each
// chunk keeps every output line in memory but only a window of them in the DOM (WINDOW lines
// while following new output, PAGE more per "show earlier" click), so a 50,000-line log stays
// responsive. Rendering is batched to one animation frame.
import { clock, el } from "./dom.js";

const CITATION = /【([FT]):([^†】]+)†L(\d+)(?:-L(\d+))?】/g;

const WINDOW = 500;          // lines a chunk keeps rendered while the log follows new output
const PAGE = 1000;           // lines each "show earlier" click adds
const COLLAPSE_AFTER = 40;   // a finished command with more output lines starts collapsed
const STATUS_ELSEWHERE = /(?<!\|)\|(?!\|)|\|\||;|(?<![&<>])&(?![&>])|\n/;
const TEST_COMMAND = /\b(pytest|py\.test|tox|nox|unittest|npm (run )?test|yarn test|pnpm test|go test|cargo test|make (test|check)|mvn test|gradle test|rspec|phpunit|jest|vitest|ctest)\b/;
const ANSI = /\x1b\[[0-?]*[ -\/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]/g;
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]/g;
// Line breaks as Python's str.splitlines sees them: the agent numbers cited lines that way
// (tasks/rendering/evidence.py splits the same way).
const LINE_BREAK = /\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]/;

/** One output line for display: escape sequences and control characters removed. */
function cleanLine(raw) {
  return String(raw).replace(ANSI, "").replace(CONTROLS, "");
}

// ---------------------------------------------------------------- rendering scheduler
const dirtyChunks = new Set();
const dirtyTerminals = new Set();
let scheduled = false;

function scheduleFlush() {
  if (scheduled) return;
  scheduled = true;
  (window.requestAnimationFrame || setTimeout)(flush);
}

function flush() {
  scheduled = false;
  dirtyChunks.forEach((chunk) => chunk.renderNew());
  dirtyChunks.clear();
  dirtyTerminals.forEach((terminal) => terminal.afterRender());
  dirtyTerminals.clear();
}

// ---------------------------------------------------------------- one command's output
export class Chunk {
  constructor(terminal, id, command, cwd, at) {
    this.terminal = terminal;
    this.id = id;
    this.lines = [];
    this.errs = [];
    this.partial = "";
    this.partialErr = false;
    this.partialNode = null;
    this.shownFrom = 0;
    this.renderedTo = 0;
    this.finished = false;
    this.userToggled = false;
    this.isTest = TEST_COMMAND.test(command || "");
    // Exit 0 says nothing about the tests when what follows the test runner holds a pipe, `;`,
    // `||`, a background `&` or another line (tasks/agent/citations.py, STATUS_ELSEWHERE).
    const runner = TEST_COMMAND.exec(command || "");
    this.isPiped = !!runner && STATUS_ELSEWHERE.test(command.slice(runner.index + runner[0].length));

    const li = el("li", "ev ev-command");
    const details = el("details", "chunk");
    details.id = "chunk-" + id;
    details.dataset.chunk = id;
    details.open = true;
    const summary = el("summary");
    if (at) summary.appendChild(el("span", "ev-time", clock(at)));
    summary.appendChild(el("span", "cmd", command || "(output)"));
    if (cwd) summary.title = "in " + cwd;
    this.exitEl = el("span", "exit exit-run", command ? "running" : "");
    summary.appendChild(this.exitEl);
    const link = el("a", "chunk-id", id);
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

    this.more.addEventListener("click", () => {
      this.shownFrom = Math.max(0, this.shownFrom - PAGE);
      this.renderAll();
    });
    summary.addEventListener("click", () => { this.userToggled = true; });
    details.addEventListener("toggle", () => {
      if (!details.open) {
        this.out.textContent = "";
        this.partialNode = null;
        this.renderedTo = this.shownFrom = 0;
        return;
      }
      if (!this.out.firstChild) {
        this.shownFrom = Math.max(0, this.lines.length - WINDOW);
        this.renderAll();
      }
    });
  }

  append(text, isErr) {
    let raw = this.partial + String(text);
    // A final \r may be the first half of \r\n split across two events: keep it for now.
    const hold = raw.charAt(raw.length - 1) === "\r" ? "\r" : "";
    if (hold) raw = raw.slice(0, -1);
    const parts = raw.split(LINE_BREAK);
    this.partial = parts.pop() + hold;
    for (let i = 0; i < parts.length; i++) {
      this.lines.push(cleanLine(parts[i]));
      this.errs.push(isErr || (i === 0 && this.partialErr));
    }
    this.partialErr = isErr;
    if (this.details.open) {
      dirtyChunks.add(this);
      dirtyTerminals.add(this.terminal);
      scheduleFlush();
    }
  }

  lineCount() {
    return this.lines.length + (this.partial ? 1 : 0);
  }

  lineNode(index, text, isErr) {
    const span = el("span", isErr ? "ln err" : "ln", text);
    span.dataset.n = String(index + 1);
    return span;
  }

  renderPartial() {
    if (this.partialNode) { this.partialNode.remove(); this.partialNode = null; }
    if (this.partial) {
      this.partialNode = this.lineNode(this.lines.length, cleanLine(this.partial), this.partialErr);
      this.out.appendChild(this.partialNode);
    }
  }

  updateMore() {
    this.more.hidden = this.shownFrom === 0;
    this.more.textContent = "Show " + Math.min(PAGE, this.shownFrom) + " earlier lines (" +
      this.shownFrom + " hidden)";
  }

  renderLines(from) {
    const frag = document.createDocumentFragment();
    for (let i = from; i < this.lines.length; i++) {
      frag.appendChild(this.lineNode(i, this.lines[i], this.errs[i]));
    }
    this.out.appendChild(frag);
    this.renderedTo = this.lines.length;
  }

  /** Re-render the window [shownFrom, end) from scratch (opening, citations, "show earlier"). */
  renderAll() {
    if (!this.details.open) return;
    this.out.textContent = "";
    this.partialNode = null;
    this.renderLines(this.shownFrom);
    this.renderPartial();
    this.updateMore();
  }

  /** Append what arrived since the last frame; while following, keep at most 2×WINDOW lines. */
  renderNew() {
    if (!this.details.open) return;
    if (!this.out.firstChild) {
      this.shownFrom = Math.max(0, this.lines.length - WINDOW);
      this.renderAll();
      return;
    }
    if (this.partialNode) { this.partialNode.remove(); this.partialNode = null; }
    const following = this.terminal.following;
    let start = this.renderedTo;
    if (this.lines.length - start > 2 * WINDOW && following) {
      start = this.lines.length - WINDOW;
      this.out.textContent = "";
      this.shownFrom = start;
    }
    this.renderLines(start);
    if (following && this.renderedTo - this.shownFrom > 2 * WINDOW) {
      const drop = this.renderedTo - this.shownFrom - WINDOW;
      for (let k = 0; k < drop && this.out.firstChild; k++) this.out.removeChild(this.out.firstChild);
      this.shownFrom += drop;
    }
    this.renderPartial();
    this.updateMore();
  }

  /** The command ended (a `command_end` payload): show how, and fold a long output away. */
  end(p) {
    this.finished = true;
    const code = p.exit_code;
    let text, cls;
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
  }

  /** The attempt ended while this command still ran (cancelled, worker lost, time limit). */
  interrupt() {
    if (this.finished || this.exitEl.textContent !== "running") return;
    this.finished = true;
    this.exitEl.className = "exit exit-fail";
    this.exitEl.textContent = "interrupted";
    this.exitEl.title = "The attempt ended before this command did.";
  }

  /** Open the chunk, render lines start..end (1-based) and mark them; returns the first line. */
  reveal(start, end) {
    this.userToggled = true;
    this.terminal.setFollowing(false);
    if (!this.details.open) {
      this.shownFrom = Math.max(0, Math.min(start - 21, this.lines.length - WINDOW));
      this.details.open = true;
    } else if (start - 1 < this.shownFrom) {
      this.shownFrom = Math.max(0, start - 21);
    }
    this.renderAll();
    let first = null;
    this.terminal.log.querySelectorAll(".ln.cited").forEach((n) => n.classList.remove("cited"));
    this.out.querySelectorAll(".ln").forEach((n) => {
      const no = Number(n.dataset.n);
      if (no >= start && no <= end) { n.classList.add("cited"); if (!first) first = n; }
    });
    return first;
  }
}

// ---------------------------------------------------------------- one attempt's log
export class Terminal {
  /** `root` is the attempt's panel: its [data-log], [data-timeline], [data-jump] are used. */
  constructor(root) {
    this.root = root;
    this.log = root.querySelector("[data-log]");
    this.timeline = root.querySelector("[data-timeline]");
    this.empty = root.querySelector("[data-log-empty]");
    this.jump = root.querySelector("[data-jump]");
    this.chunks = {};
    this.following = true;
    this.log.addEventListener("scroll", () => {
      const atBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
      if (atBottom !== this.following) this.setFollowing(atBottom);
    });
    this.jump.addEventListener("click", () => {
      this.setFollowing(true);
      this.log.scrollTop = this.log.scrollHeight;
    });
  }

  setFollowing(on) {
    this.following = on;
    this.jump.hidden = on;
  }

  /** Keep the newest line in view while following (and the panel is shown). */
  afterRender() {
    if (this.following && !this.root.hidden) this.log.scrollTop = this.log.scrollHeight;
  }

  add(li) {
    if (this.empty && !this.timeline.hidden) { this.empty.remove(); this.empty = null; }
    this.timeline.appendChild(li);
    dirtyTerminals.add(this);
    scheduleFlush();
  }

  /** While the timeline is held back (the page's replay), say how far the loading is. */
  progress(done, total) {
    if (this.empty && total > 0) {
      this.empty.textContent = "Loading the log… " + Math.min(100, Math.floor(100 * done / total)) + "%";
    }
  }

  /** Show the timeline built while it was hidden, all at once, and follow its end. */
  reveal() {
    if (!this.timeline.hidden) return;
    this.timeline.hidden = false;
    if (this.empty && this.timeline.firstChild) { this.empty.remove(); this.empty = null; }
    this.afterRender();
  }

  /** A one-line entry: `kind` picks its style (ev-status, ev-error...). */
  note(kind, text, at) {
    const li = el("li", "ev ev-" + kind);
    if (at) li.appendChild(el("span", "ev-time", clock(at)));
    li.appendChild(el("span", "line-text", text));
    this.add(li);
    return li;
  }

  /** An assistant message, as text; its citation markers (【F:path†L3-L9】) become small labels,
   * since the brackets are CJK punctuation many terminal fonts cannot draw. */
  message(text) {
    const li = el("li", "ev ev-message");
    const msg = el("div", "msg");
    const whole = String(text ?? "");
    let last = 0;
    for (const m of whole.matchAll(CITATION)) {
      msg.appendChild(document.createTextNode(whole.slice(last, m.index)));
      const lines = m[4] && m[4] !== m[3] ? `L${m[3]}-L${m[4]}` : `L${m[3]}`;
      const label = m[1] === "F" ? `${m[2].trim()}:${lines}` : `terminal ${m[2].trim()} ${lines}`;
      msg.appendChild(el("span", "cite-inline", label));
      last = m.index + m[0].length;
    }
    msg.appendChild(document.createTextNode(whole.slice(last)));
    li.appendChild(msg);
    this.add(li);
  }

  /** Mark every command still shown as running as interrupted (the attempt has ended). */
  interruptOpen() {
    for (const chunk of Object.values(this.chunks)) chunk.interrupt();
  }

  /** The chunk with this id, made on first sight (output may come before its command). */
  chunk(id, command, cwd, at) {
    id = String(id || "unknown");
    if (!this.chunks[id]) {
      this.chunks[id] = new Chunk(this, id, command, cwd, at);
      this.add(this.chunks[id].li);
    }
    return this.chunks[id];
  }
}

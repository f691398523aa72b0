// Small DOM and formatting helpers for the live pages. Text is always set with textContent:
// nothing the agent wrote is ever parsed as HTML.

export function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** "14:02:31" for an ISO timestamp, "" when it does not parse. */
export function clock(iso) {
  const d = new Date(iso);
  return isNaN(d) ? "" : d.toTimeString().slice(0, 8);
}

/** 42 -> "42s", 192 -> "3m 12s", 3720 -> "1h 2m" (as the `duration` template filter). */
export function duration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  if (seconds < 60) return seconds + "s";
  const m = Math.floor(seconds / 60), s = seconds % 60;
  if (m < 60) return m + "m " + s + "s";
  return Math.floor(m / 60) + "h " + (m % 60) + "m";
}

/** Seconds covered by the union of [start, end] spans in ms (as tasks/attempt_page.py's
 * running_seconds): parallel attempts count once, a gap between attempts not at all. */
export function coveredSeconds(spans) {
  let total = 0;
  let reach = null;
  spans.slice().sort((a, b) => a[0] - b[0]).forEach(([start, end]) => {
    if (reach === null || start > reach) { total += end - start; reach = end; }
    else if (end > reach) { total += end - reach; reach = end; }
  });
  return Math.max(0, total / 1000);
}

/** Select a node's text, for copying by hand when the clipboard API is refused. */
export function selectText(node) {
  if (!node) return;
  const range = document.createRange();
  range.selectNodeContents(node);
  const sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
}

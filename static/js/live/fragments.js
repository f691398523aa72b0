// HTML fragments from our own server-rendered templates (an attempt's result and diff, a cited
// file). Every agent-provided string in them is escaped or nh3-sanitized server-side, which is
// why these, and only these, are inserted as HTML.

/** The fragment at `url` as text; rejects on a network error or a non-2xx answer. */
export async function fetchFragment(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!response.ok) throw new Error("HTTP " + response.status);
  return response.text();
}

/** Put a fragment into `box`, keeping which of its collapsible diff files were open. */
export function swapFragment(box, html, { keepOpen = false } = {}) {
  const open = keepOpen ? Array.from(box.querySelectorAll("details.diff-file"), (d) => d.open) : [];
  box.innerHTML = html;
  box.querySelectorAll("details.diff-file").forEach((d, i) => { if (i < open.length) d.open = open[i]; });
}

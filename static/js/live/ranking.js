// The best-of-N ranking on the task page: while re-verification runs (or is still to come),
// fetch the server-rendered ranking again every few seconds and swap it in, so the person sees
// which check runs, each verdict with its evidence, and the final order without reloading.
import { fetchFragment } from "./fragments.js";

const INTERVAL_MS = 3000;

function start(section) {
  const body = section.querySelector("[data-ranking-body]");
  const url = section.dataset.rankingUrl;
  if (!body || !url) return;
  const pending = () => body.querySelector("[data-ranking-state]")?.dataset.rankingState === "running";
  async function tick() {
    if (!pending()) return;
    try {
      body.innerHTML = await fetchFragment(url);  // our own template: escaped server-side
      showCombine(section, body);
    } catch (err) {
      // A restart of the web process: try again at the next tick.
    }
    if (pending()) setTimeout(tick, INTERVAL_MS);
  }
  setTimeout(tick, INTERVAL_MS);
}

/** "Combine the picked hunks" only while some attempt left a patch to pick from (the ranking
 * body says when none did: every attempt failed, say). */
function showCombine(section, body) {
  const form = section.querySelector("[data-combine]");
  if (form) form.hidden = body.querySelector("[data-nothing-to-combine]") !== null;
}

/** A ranking row's "Attempt N" opens that attempt's tab, as clicking the tab does. */
function wireLinks(section) {
  section.addEventListener("click", (e) => {
    const link = e.target instanceof Element ? e.target.closest("a[data-ranking-attempt]") : null;
    const tab = link && document.getElementById("tab-" + link.dataset.rankingAttempt);
    if (!tab) return;
    e.preventDefault();
    tab.click();
    tab.scrollIntoView({ block: "nearest" });
  });
}

const section = document.querySelector("[data-ranking]");
if (section) {
  start(section);
  wireLinks(section);
}

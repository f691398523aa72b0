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
    } catch (err) {
      // A restart of the web process: try again at the next tick.
    }
    if (pending()) setTimeout(tick, INTERVAL_MS);
  }
  setTimeout(tick, INTERVAL_MS);
}

const section = document.querySelector("[data-ranking]");
if (section) start(section);

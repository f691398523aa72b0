// Live sidebar: status changes of the team's tasks over /ws/team/, applied to the sidebar's
// `a[data-task-id] [data-status]` badges and the history table's `tr[data-task-id]` ones (else
// one page showed a task "Succeeded" in the sidebar and "Running" in the table). Re-announced as a "codexweb:task" DOM event (and kept
// in window.codexwebTaskStatus for scripts that start listening later) so the page showing that
// task can update too. A task the sidebar does not list yet (a teammate's new task, or one
// started in another tab) makes it fetch its list again, with its filters, from
// `#history[data-refresh-url]`. An ES module: it shares the socket and badges with the task page.
import { setBadge, statusLabel } from "./live/contract.js";
import { LiveSocket } from "./live/socket.js";

const history = document.getElementById("history");
const asked = new Set();  // "id:status" pairs a refresh was made for (a filter may hide them)
let refreshing = null;  // the fetch under way
let again = false;  // another task came while it ran

// Whether the list should show task `id` and does not: unfiltered, only a task newer than
// every listed one (ids grow; an older one missing is past the list's end, and the socket's
// catch-up names those at every page load); filtered, any (it may match now).
function missing(id) {
  if (history.querySelector('a[data-task-id="' + id + '"]')) return false;
  if (filters()) return true;
  const ids = [...history.querySelectorAll("a[data-task-id]")].map((a) => Number(a.dataset.taskId));
  return ids.length === 0 || Number(id) > Math.max(...ids);
}

function filters() {
  const form = document.querySelector("#sidebar .history-filter");
  const query = new URLSearchParams();
  if (form) {
    for (const [name, value] of new FormData(form)) if (value) query.set(name, value);
  }
  return query.toString();
}

async function refreshList() {
  const url = history.dataset.refreshUrl;
  const query = filters();
  try {
    const response = await fetch(query ? url + "?" + query : url, {
      credentials: "same-origin", headers: { Accept: "text/html" },
    });
    // Signed out meanwhile: the answer is the sign-in page, not a list.
    if (!response.ok || response.redirected) return;
    const current = history.querySelector('a[aria-current="page"]');
    history.innerHTML = await response.text();
    if (current) {
      const same = history.querySelector('a[href="' + current.getAttribute("href") + '"]');
      if (same) same.setAttribute("aria-current", "page");
    }
  } catch (error) {
    // The list stays as it was; the next change tries again.
  }
}

function refreshSoon() {
  if (refreshing) { again = true; return; }
  refreshing = refreshList().finally(() => {
    refreshing = null;
    if (again) { again = false; refreshSoon(); }
  });
}

function apply(task) {
  if (!task || !/^\d+$/.test(String(task.id)) || !statusLabel(task.status)) return;
  const id = '[data-task-id="' + task.id + '"] [data-status]';
  document.querySelectorAll("a" + id + ", tr" + id).forEach((badge) => {
    setBadge(badge, task.status);
  });
  if (history && history.dataset.refreshUrl && missing(task.id)) {
    const key = task.id + ":" + task.status;
    if (!asked.has(key)) {
      if (asked.size > 1000) asked.clear();
      asked.add(key);
      refreshSoon();
    }
  }
  window.codexwebTaskStatus = window.codexwebTaskStatus || {};
  window.codexwebTaskStatus[task.id] = task.status;
  document.dispatchEvent(new CustomEvent("codexweb:task", {
    detail: { id: Number(task.id), status: task.status, author: Number(task.author) },
  }));
}

if (document.getElementById("sidebar")) {
  new LiveSocket("/ws/team/", {
    onMessage: (data) => { if (data.type === "task") apply(data.task); },
  }).connect();
}

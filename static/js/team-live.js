// Live sidebar: status changes of the team's tasks over /ws/team/, applied to the sidebar's
// `a[data-task-id] [data-status]` badges and the history table's `tr[data-task-id]` ones (else
// one page showed a task "Succeeded" in the sidebar and "Running" in the table). Re-announced as a "codexweb:task" DOM event (and kept
// in window.codexwebTaskStatus for scripts that start listening later) so the page showing that
// task can update too. An ES module: it shares the socket and badges with the task page.
import { setBadge, statusLabel } from "./live/contract.js";
import { LiveSocket } from "./live/socket.js";

function apply(task) {
  if (!task || !/^\d+$/.test(String(task.id)) || !statusLabel(task.status)) return;
  const id = '[data-task-id="' + task.id + '"] [data-status]';
  document.querySelectorAll("a" + id + ", tr" + id).forEach((badge) => {
    setBadge(badge, task.status);
  });
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

// Browser notifications, opt-in per browser: when a task the signed-in person started finishes
// while this tab is hidden, show a notification that opens it. The sidebar's "Notify me" button
// asks for the Notifications API permission; the choice is kept in localStorage. Fed by the
// "codexweb:task" events team-live.js re-announces from the team socket, so no request is added.
// Loaded before team-live.js (both ES modules, run in order), so no status change is missed.
import { isFinished, statusLabel } from "./live/contract.js";

const KEY = "codexweb.notify";
const button = document.getElementById("notify-toggle");
const me = button ? Number(button.dataset.userId) : NaN;
const seen = new Map(); // task id -> the last status this page knew

function supported() {
  return "Notification" in window;
}

function enabled() {
  return supported() && Notification.permission === "granted" && localStorage.getItem(KEY) === "on";
}

function render() {
  if (!button) return;
  if (!supported()) {
    button.hidden = true;
    return;
  }
  const denied = Notification.permission === "denied";
  button.hidden = false;
  button.disabled = denied;
  button.setAttribute("aria-pressed", enabled() ? "true" : "false");
  button.textContent = denied ? "Notifications blocked" : enabled() ? "Notifications on" : "Notify me";
  button.title = denied
    ? "This browser blocks notifications from this site; allow them in its site settings."
    : enabled()
      ? "You are told when your tasks finish while this tab is in the background. Click to stop."
      : "Be told when your tasks finish while this tab is in the background.";
}

async function toggle() {
  if (enabled()) {
    localStorage.setItem(KEY, "off");
  } else {
    const permission =
      Notification.permission === "granted" ? "granted" : await Notification.requestPermission();
    if (permission === "granted") localStorage.setItem(KEY, "on");
  }
  render();
}

/** What the page showed when it was rendered: the sidebar's badges and the task page's own. */
function seedFromPage() {
  document.querySelectorAll("a[data-task-id]").forEach((a) => {
    const badge = a.querySelector("[data-status]");
    const m = badge && /\bbadge-([a-z]+)\b/.exec(badge.className);
    if (m) seen.set(Number(a.dataset.taskId), m[1]);
  });
  const task = document.getElementById("task");
  const badge = document.getElementById("task-status");
  const m = badge && /\bbadge-([a-z]+)\b/.exec(badge.className);
  if (task && m) seen.set(Number(task.dataset.taskId), m[1]);
}

function titleOf(id) {
  const link = document.querySelector('a[data-task-id="' + id + '"] .history-title');
  return link ? link.textContent.trim() : "Task #" + id;
}

function show(id, status) {
  const note = new Notification(titleOf(id), {
    body: statusLabel(status) || status,
    tag: "codexweb-task-" + id,
  });
  note.addEventListener("click", () => {
    window.focus();
    location.href = "/tasks/" + id + "/";
    note.close();
  });
  window.codexwebNotified = (window.codexwebNotified || []).concat([{ id, status }]);
}

/** Notify on a change from a status the page knew (not finished) to a finished one. */
function onTask(event) {
  const { id, status, author } = event.detail || {};
  const before = seen.get(id);
  seen.set(id, status);
  if (before === undefined || isFinished(before) || !isFinished(status)) return;
  if (author !== me || !enabled() || !document.hidden) return;
  show(id, status);
}

if (button) {
  seedFromPage();
  render();
  button.addEventListener("click", () => { toggle(); });
  document.addEventListener("codexweb:task", onTask);
}

// Live sidebar: status changes of the team's tasks over /ws/team/, applied to the sidebar's
// `a[data-task-id] [data-status]` badges. Re-announced as a "codexweb:task" DOM event so the
// page showing that task can update too.
(function () {
  "use strict";
  var LABELS = { queued: "Queued", running: "Running", succeeded: "Succeeded", failed: "Failed",
                 cancelled: "Cancelled", stopped: "Stopped" };
  var MAX_RETRIES = 40;

  function apply(task) {
    if (!task || !/^\d+$/.test(String(task.id)) || !LABELS[task.status]) return;
    document.querySelectorAll('a[data-task-id="' + task.id + '"] [data-status]').forEach(function (badge) {
      badge.className = badge.className.replace(/\bbadge-[a-z]+\b/g, "").trim() + " badge-" + task.status;
      badge.textContent = LABELS[task.status];
    });
    // Kept for scripts that start listening later (the task page), then announced.
    window.codexwebTaskStatus = window.codexwebTaskStatus || {};
    window.codexwebTaskStatus[task.id] = task.status;
    document.dispatchEvent(new CustomEvent("codexweb:task", { detail: { id: Number(task.id), status: task.status } }));
  }

  function connect(retries) {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(proto + location.host + "/ws/team/");
    var leaving = false;
    window.addEventListener("pagehide", function () { leaving = true; });
    ws.onopen = function () { retries = 0; };
    ws.onmessage = function (msg) {
      var data;
      try { data = JSON.parse(msg.data); } catch (e) { return; }
      if (data && data.type === "task") apply(data.task);
    };
    ws.onclose = function () {
      if (leaving || retries >= MAX_RETRIES) return;
      setTimeout(function () { connect(retries + 1); }, Math.min(15000, 500 * Math.pow(2, retries)));
    };
  }

  function start() { if (document.getElementById("sidebar")) connect(0); }
  if (document.readyState !== "loading") start(); else document.addEventListener("DOMContentLoaded", start);
})();

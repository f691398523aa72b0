// The server's half of the live pages' vocabulary (tasks/live_contract.py), read from the
// `#live-contract` JSON element every signed-in page carries: event kinds, status labels, which
// statuses are final, and the websocket close codes. Nothing here repeats those strings.

const node = document.getElementById("live-contract");
const data = node ? JSON.parse(node.textContent) : {};

/** Event kinds by their constant's name in tasks/event_kinds.py: KIND.COMMAND_END, ... */
export const KIND = Object.freeze(data.kinds || {});
/** Status values by their name in tasks.models.Status: STATUS.RUNNING, ... */
export const STATUS = Object.freeze(data.statuses || {});
/** Websocket close codes the server uses to refuse (tasks/consumers.py). */
export const CLOSE = Object.freeze(data.closeCodes || {});

const LABELS = data.statusLabels || {};
const FINISHED = new Set(data.finished || []);

/** The label of a known status ("Running"), or "" for anything else. */
export function statusLabel(status) {
  return Object.prototype.hasOwnProperty.call(LABELS, status) ? LABELS[status] : "";
}

export function isFinished(status) {
  return FINISHED.has(status);
}

/** How far along a status is: queued 0, running 1, any final status 2 (-1: unknown). An
 * attempt only moves forward, so a badge never takes a status ranked below the one it shows. */
export function statusRank(status) {
  if (isFinished(status)) return 2;
  if (status === STATUS.RUNNING) return 1;
  return status === STATUS.QUEUED ? 0 : -1;
}

/** Show `status` on a `.badge` element; an unknown status leaves it as it was. */
export function setBadge(badge, status) {
  const label = statusLabel(status);
  if (!badge || !label) return;
  badge.className = badge.className.replace(/\bbadge-[a-z]+\b/g, "").trim() + " badge-" + status;
  badge.textContent = label;
}

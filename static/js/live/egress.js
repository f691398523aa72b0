// Egress in the live log (issue 14 item 3): each request the proxy decided, at the time it was
// decided; a refusal a person may lift gets "Allow once for this attempt" (and, for team admins,
// "Add to this repository's allowlist"), posted to the panel's data-egress-url. An
// egress_approval event (from anyone's click, the API or the CLI) marks the host approved on
// every open page; replaying the stored events rebuilds the same lines and buttons.
import { el } from "./dom.js";

/** The event's own time (the proxy's, in seconds) as ISO, else the event's. */
function decidedAt(p, at) {
  const t = Number(p.at);
  return t > 0 ? new Date(t * 1000).toISOString() : at;
}

/** One `egress` event as a log line, with approval buttons when it can be approved. */
export function egressNote(panel, p, at) {
  const log = panel.terminal;
  const method = String(p.method || "");
  const target = String(p.url || p.domain || "");
  if (p.allowed) {
    log.note("egress", "network " + method + " " + target + " allowed", decidedAt(p, at));
    return;
  }
  const why = p.reason ? " (" + String(p.reason) + ")" : "";
  const li = log.note("egress ev-egress-refused", "the agent tried " + method + " " + target + " — refused" + why, decidedAt(p, at));
  const host = String(p.domain || "");
  if (!p.approvable || !host || panel.root.dataset.finished === "true") return;
  if (approvedHosts(panel).has(host)) return;
  li.dataset.egressHost = host;
  const box = el("span", "egress-actions");
  box.appendChild(button(panel, host, "attempt", "Allow once for this attempt"));
  if (panel.root.dataset.egressAdmin === "true") {
    box.appendChild(button(panel, host, "repository", "Add to this repository's allowlist"));
  }
  box.appendChild(el("span", "egress-said"));
  li.appendChild(box);
}

/** An `egress_approval` event: say who allowed what, and retire that host's buttons. */
export function egressApproved(panel, p, at) {
  const host = String(p.host || "");
  approvedHosts(panel).add(host);
  const scope = p.scope === "repository" ? "and added it to the repository's allowlist" : "for this attempt";
  panel.terminal.note("egress_approval", "✓ " + String(p.by || "someone") + " allowed " + host + " " + scope, at);
  panel.root.querySelectorAll("[data-egress-host]").forEach((li) => {
    if (li.dataset.egressHost !== host) return;
    li.querySelectorAll(".egress-actions button").forEach((b) => b.remove());
  });
}

/** The attempt ended: nothing can be approved any more. */
export function retireApprovals(root) {
  root.querySelectorAll(".egress-actions button").forEach((b) => b.remove());
}

function approvedHosts(panel) {
  if (!panel.egressApproved) panel.egressApproved = new Set();
  return panel.egressApproved;
}

function button(panel, host, scope, label) {
  const b = el("button", "button small", label);
  b.type = "button";
  b.dataset.egressApprove = scope;
  b.addEventListener("click", () => approve(panel, host, scope, b));
  return b;
}

async function approve(panel, host, scope, clicked) {
  const box = clicked.parentElement;
  const said = box.querySelector(".egress-said");
  box.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  const body = new URLSearchParams({ host, scope });
  let answer = {};
  let ok = false;
  try {
    const response = await fetch(panel.root.dataset.egressUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": panel.root.dataset.csrf || "", Accept: "application/json" },
      body,
    });
    ok = response.ok;
    answer = await response.json().catch(() => ({}));
  } catch (e) {
    answer = { error: "Could not reach the server; try again." };
  }
  if (said) said.textContent = String(answer.message || answer.error || (ok ? "Allowed." : "Not allowed."));
  if (!ok) box.querySelectorAll("button").forEach((b) => { b.disabled = false; });
}

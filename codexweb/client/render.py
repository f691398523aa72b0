"""Turning API data into terminal text. Pure functions, so they are easy to test."""

from __future__ import annotations

from typing import Any


def event_line(event: dict[str, Any], *, prefix: str = "") -> str | None:
    """One event as a line (or lines) for the live log; None for events not worth showing."""
    kind, payload = event.get("kind", ""), event.get("payload") or {}
    text: str | None
    if kind == "status":
        text = f"● {payload.get('status', '')}: {payload.get('message', '')}"
    elif kind == "phase":
        text = f"▸ {payload.get('phase', '')}: {payload.get('message', '')}"
    elif kind in ("message", "reasoning"):
        text = str(payload.get("text", "")).rstrip()
    elif kind == "command":
        text = f"$ {payload.get('command', '')}"
    elif kind == "output":
        text = str(payload.get("text", "")).rstrip("\n")
    elif kind == "command_end":
        text = f"  (exit {payload.get('exit_code')}, {payload.get('duration', 0):.1f}s)"
    elif kind == "patch":
        files = ", ".join(payload.get("files", []))
        verdict = "applied" if payload.get("ok") else "failed"
        text = f"✎ patch {verdict}: {files} {payload.get('error', '')}".rstrip()
    elif kind == "egress":
        verdict = "allowed" if payload.get("allowed") else "refused"
        target = payload.get("url") or payload.get("domain", "")
        text = f"↗ {payload.get('method', '')} {target} {verdict}"
        if payload.get("approvable"):
            text += (f" — approve with: codexweb allow-domain <task> {payload.get('domain', '')}")
    elif kind == "egress_approval":
        scope = ("for this attempt" if payload.get("scope") == "attempt"
                 else "and added to the repository's allowlist")
        text = f"✓ {payload.get('by', 'someone')} allowed {payload.get('host', '')} {scope}"
    elif kind in ("error", "tool_error"):
        text = f"! {payload.get('message') or payload.get('error', '')}"
    elif kind == "steer":
        said = str(payload.get("text", "")).strip()
        who = payload.get("by", "someone")
        lines = [f"✉ {who}: {said}"] if said else []
        if payload.get("stop"):
            lines.append(f"■ {who} asked the agent to stop after this step.")
        text = "\n".join(lines) or None
    elif kind == "images":
        text = f"🖼 {payload.get('message', '')}"
    elif kind == "summary":
        text = None  # printed once at the end, with the diff
    else:
        text = None
    if text is None:
        return None
    if prefix:
        return "\n".join(prefix + line for line in text.splitlines() or [""])
    return text


def task_row(task: dict[str, Any]) -> str:
    return (
        f"{task['id']:>6}  {task['status']:<10} {task['mode']:<5} "
        f"{task['repository'][:30]:<30} {task['author'][:12]:<12} {task['title']}"
    )


def task_details(task: dict[str, Any]) -> str:
    lines = [
        f"Task {task['id']}: {task['title']}",
        f"  repository {task['repository']} @ {task['branch']}   mode {task['mode']}"
        f"   model {task['model']}",
        f"  status {task['status']}   by {task['author']}   created {task['created_at']}",
    ]
    for attempt in task.get("attempts", []):
        line = f"  attempt {attempt['index']} (id {attempt['id']}): {attempt['status']}"
        if attempt.get("has_patch"):
            line += "   has a patch"
        if attempt.get("error"):
            line += f"   — {attempt['error']}"
        lines.append(line)
        if attempt.get("summary"):
            lines.extend("    " + s for s in attempt["summary"].splitlines())
    return "\n".join(lines)

"""The kinds of Event an attempt records, and what each payload holds.

This is the contract between the worker (which appends), the live page and the API (which show).
Payload keys not listed here must not be relied on.

- "status":       {"status": Status value, "message": str}
- "phase":        {"phase": "prepare"|"setup"|"agent"|"collect", "message": str}
- "message":      {"text": str}                         an assistant message (Markdown)
- "reasoning":    {"text": str}                         a reasoning summary, if the model gives one
- "command":      {"call_id": str, "chunk_id": str, "command": str, "cwd": str}
- "output":       {"chunk_id": str, "stream": "stdout"|"stderr", "text": str, "at": float}
- "command_end":  {"call_id": str, "chunk_id": str, "exit_code": int|None, "duration": float,
                   "truncated": bool, "timed_out": bool, "error": str}
- "patch":        {"call_id": str, "ok": bool, "files": [str], "error": str}   an apply_patch call
- "tool_error":   {"call_id": str, "tool": str, "error": str}   malformed or unknown tool call
- "usage":        {"input_tokens": int, "output_tokens": int, "cost": float}   running totals
- "egress":       {"domain": str, "method": str, "allowed": bool}
- "summary":      {"text": str, "citations": [{"raw", "kind": "F"|"T", "target", "start", "end",
                   "valid": bool, "reason": str}], "flags": [str]}
- "error":        {"message": str}
"""

from __future__ import annotations

STATUS = "status"
PHASE = "phase"
MESSAGE = "message"
REASONING = "reasoning"
COMMAND = "command"
OUTPUT = "output"
COMMAND_END = "command_end"
PATCH = "patch"
TOOL_ERROR = "tool_error"
USAGE = "usage"
EGRESS = "egress"
SUMMARY = "summary"
ERROR = "error"

ALL = frozenset(
    {
        STATUS,
        PHASE,
        MESSAGE,
        REASONING,
        COMMAND,
        OUTPUT,
        COMMAND_END,
        PATCH,
        TOOL_ERROR,
        USAGE,
        EGRESS,
        SUMMARY,
        ERROR,
    }
)

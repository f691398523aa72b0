"""What the CLI's exit status means. Scripts may rely on these numbers."""

from __future__ import annotations

OK = 0  # done; for ask/code: the task succeeded
TASK_FAILED = 1  # the task (or its every attempt) failed or stopped
USAGE = 2  # bad arguments (argparse also uses 2)
AUTH = 3  # not logged in, or the token is invalid/revoked
NOT_FOUND = 4  # no such task/attempt/repository in your teams
CONFLICT = 5  # the request conflicts with the state (already finished, no patch, ...)
SERVER = 6  # the server failed, could not be reached, or answered nonsense
CANCELLED = 7  # the task was cancelled
UNSUPPORTED = 8  # the server does not offer this yet (HTTP 501)
RATE_LIMITED = 9  # too many requests; retry later
INTERRUPTED = 130  # Ctrl-C

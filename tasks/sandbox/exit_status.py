"""A command's exit status as the last bytes of its own stderr, for the commands codexweb wrote.

The engine records an exec's exit code a moment after its output ends (containerd's exit event
has to reach it): tens of milliseconds on a quiet host, hundreds under load. Asking for it
costs an API call each time and, while it is not there, a wait. A command of ours that ends by
printing `MARK` and its status on stderr saves both: `split` takes it off. Without the trailer
(the command was killed, or is not one of ours) the host asks the engine as before. A process
in the container that forged the trailer could only claim an outcome for a command of its own
user, which that user could as well have made happen.
"""

from __future__ import annotations

MARK = b"\x1ecodexweb-exit="
# The last thing a bash script of ours runs: prints the status of the command before it.
BASH_TRAILER = "printf '\\036codexweb-exit=%d' \"$?\" >&2"


def split(err: bytes) -> tuple[int | None, bytes]:
    """(the status the trailer gives, stderr without it); (None, stderr) without a trailer."""
    head, found, tail = err.rpartition(MARK)
    if not found or not tail.isdigit() or len(tail) > 3:
        return None, err
    return int(tail), head

"""Images through the worker (issue 14.2): the images kept with a task reach the model in its
first request as image inputs, and never the container: the agent searches the sandbox for the
image's bytes and finds nothing. Real Docker, real mirror, the scripted model server."""

from __future__ import annotations

import base64

import pytest

from repos.services import repository_register
from tasks.images.services import ImageUpload, images_check
from tasks.jobs import run_attempt
from tasks.models import Status
from tasks.services import task_create
from tests.support import images
from tests.support.model_server import call, reply

pytestmark = pytest.mark.docker

MARKER = "codexweb-image-marker-5b1d7e"
SEARCH = (
    f"for d in /workspace /tmp /home /root /var/tmp /run /srv /opt; do "
    f"grep -rl -e {MARKER} -e \"$SLICE\" \"$d\" 2>/dev/null | sed 's/^/FOUND:/'; done; "
    f"env | grep -q -e {MARKER} -e \"$SLICE\" && echo FOUND:env; echo searched"
)


def test_images_reach_the_model_and_never_the_container(
    worker_settings, model_server, acme, alice, fixture_repo
):
    shot = images.png(6, 4, text=MARKER)
    encoded = base64.b64encode(shot).decode()
    slice_ = encoded[len(encoded) // 2 : len(encoded) // 2 + 40]
    repository = repository_register(team=acme, location=str(fixture_repo))
    task = task_create(author=alice, repository=repository, mode="ask", model_tier="strong",
                       prompt="What does this screenshot show?", base_branch="main",
                       images=images_check([ImageUpload("shot.png", shot)]))
    model_server.add(
        reply(call("shell", {"command": f"SLICE='{slice_}'; {SEARCH}"})),
        reply("A red rectangle."),
    )

    run_attempt(task.attempts.get().pk)

    attempt = task.attempts.get()
    assert attempt.status == Status.SUCCEEDED, attempt.error
    first = model_server.requests[0]
    assert first.api == "chat"  # worker_settings; tests/agent/test_model_images.py does both
    user = [m for m in first.body["messages"] if m.get("role") == "user"][-1]
    assert user["content"] == [
        {"type": "text", "text": "What does this screenshot show?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{encoded}"}},
    ]
    logged = attempt.events.get(kind="images").payload
    assert logged["message"] == "1 image (PNG) went to the model with the prompt."
    searched = model_server.requests[1].tool_outputs()[-1]
    assert "searched" in searched and "FOUND:" not in searched, searched

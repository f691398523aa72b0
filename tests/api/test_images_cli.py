"""`codexweb ask|code ... --image PATH` and `codexweb follow-up TASK TEXT --image PATH` (issue
14.2) as a subprocess against the real app in daphne."""

from __future__ import annotations

import json

import pytest

from tasks import services
from tasks.images.models import TaskImage
from tasks.models import Task
from tests.support import images
from tests.support.celery_queue import queue_clear
from tests.support.cli_runner import cli, cli_login

pytestmark = pytest.mark.timeout(180)


def test_code_and_follow_up_send_images(live_app, world, tmp_path):
    cli_login(live_app, world)
    shot, mock = tmp_path / "shot.png", tmp_path / "mock.gif"
    shot.write_bytes(images.png(9, 9))
    mock.write_bytes(images.GIF)

    created = cli(world, "code", "Match the mock-up", "--repo", "acme/webapp",
                  "--image", str(shot), "--image", str(mock), "--detach")

    assert created.returncode == 0, created.stderr
    task = Task.objects.get(pk=int(created.stdout))
    assert [(i.name, i.media_type, i.attempt_id) for i in TaskImage.objects.filter(task=task)] == [
        ("shot.png", "image/png", None), ("mock.gif", "image/gif", None)]

    first = task.attempts.get()
    services.attempt_claim(attempt_id=first.pk)
    services.attempt_finish(attempt_id=first.pk, status="succeeded")
    followed = cli(world, "follow-up", str(task.pk), "Now the footer", "--image", str(shot),
                   "--json")
    assert followed.returncode == 0, followed.stderr
    new = json.loads(followed.stdout)
    assert (new["parent"], new["index"]) == (first.pk, 2)
    assert TaskImage.objects.get(attempt_id=new["id"]).media_type == "image/png"
    queue_clear()


def test_missing_and_non_image_files_are_clear_errors(live_app, world, tmp_path):
    cli_login(live_app, world)
    missing = cli(world, "ask", "Look", "--repo", "acme/webapp",
                  "--image", str(tmp_path / "no.png"))
    assert missing.returncode == 2
    assert f"Cannot read image {tmp_path / 'no.png'}" in missing.stderr

    page = tmp_path / "page.png"
    page.write_bytes(images.HTML_AS_PNG)
    refused = cli(world, "ask", "Look", "--repo", "acme/webapp", "--image", str(page))
    assert refused.returncode == 2, refused.stderr
    assert "page.png is not a PNG, JPEG, WebP or GIF image" in refused.stderr
    assert not Task.objects.exists()

"""Images with a task (issue 14.2): the composer and the follow-up box take them, check them by
decoding, keep them with the task and hand them to the agent; a tier whose model takes no images
is refused before anything starts."""

from __future__ import annotations

import copy

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tasks import services
from tasks.images.models import TaskImage
from tasks.models import Task
from tasks.worker.agent import agent_spec
from tests.support import factories, images
from tests.support.composer import submit


def upload(data: bytes, name: str = "screenshot.png", content_type: str = "image/png"):
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def fast_takes_no_images(settings):
    options = copy.deepcopy(settings.MODEL_TIER_OPTIONS)
    options["fast"]["images"] = False
    settings.MODEL_TIER_OPTIONS = options


def test_composer_keeps_the_images_with_the_task_and_every_attempt_gets_them(
    alice_client, alice, acme_repo
):
    shot = images.png(4, 3)
    response = submit(alice_client, acme_repo, attempts="2", images=[
        upload(shot, "login page.png"), upload(images.jpeg(640, 480), "mock.JPG", "image/jpeg"),
    ])

    task = Task.objects.get()
    assert response.status_code == 302
    stored = list(TaskImage.objects.order_by("position"))
    assert [(i.name, i.media_type, i.width, i.height) for i in stored] == [
        ("login-page.png", "image/png", 4, 3), ("mock.jpg", "image/jpeg", 640, 480)]
    assert all((i.task_id, i.team_id, i.attempt_id, i.uploaded_by) == (
        task.pk, acme_repo.team_id, None, alice) for i in stored)
    assert bytes(stored[0].data) == shot
    for attempt in task.attempts.all():  # best-of-N: each attempt sends the same images
        spec = agent_spec(attempt, base_commit="")
        assert [i.media_type for i in spec.images] == ["image/png", "image/jpeg"]
    page = alice_client.get(f"/tasks/{task.pk}/").content.decode()
    assert f'src="/images/{stored[0].pk}/"' in page and 'alt="login-page.png"' in page


def test_the_type_comes_from_the_bytes_not_the_name_or_the_browser(alice_client, acme_repo):
    submit(alice_client, acme_repo, images=[upload(images.GIF, "photo.png", "image/png")])
    image = TaskImage.objects.get()
    assert (image.media_type, image.name) == ("image/gif", "photo.gif")


@pytest.mark.parametrize(
    "files,message",
    [
        ([upload(images.HTML_AS_PNG, "cat.png")], "cat.png is not a PNG, JPEG, WebP or GIF image"),
        ([upload(images.SVG, "logo.svg", "image/svg+xml")], "logo.svg is not a PNG, JPEG"),
        ([upload(images.png(), f"s{n}.png") for n in range(5)], "Attach at most 4 images"),
    ],
)
def test_bad_images_are_refused_and_the_rest_of_the_form_is_kept(
    alice_client, acme_repo, files, message
):
    response = submit(alice_client, acme_repo, prompt="Keep this text", model_tier="strong",
                      images=files)

    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and "Choose the images again." in html
    assert "Keep this text</textarea>" in html and '<option value="strong" selected>' in html
    assert 'href="#id_images"' in html  # the error summary links to the image box
    assert not Task.objects.exists() and not TaskImage.objects.exists()


def test_an_image_over_the_size_limit_is_refused(alice_client, acme_repo, settings):
    settings.IMAGE_MAX_BYTES = 2048
    big = images.png(200, 200, (1, 2, 3)) + b"\x00" * 4096  # decodable, but too large
    response = submit(alice_client, acme_repo, images=[upload(big, "big.png")])
    assert response.status_code == 400
    assert "big.png is 4 KB; images may be at most 2 KB." in response.content.decode()
    assert not Task.objects.exists()


def test_a_tier_whose_model_takes_no_images_is_refused_before_anything_starts(
    alice_client, acme_repo, fast_takes_no_images
):
    response = submit(alice_client, acme_repo, images=[upload(images.png())])
    assert response.status_code == 400
    assert "The Fast model (o4-mini) does not accept images" in response.content.decode()
    assert not Task.objects.exists()
    # Without images the same tier is fine.
    assert submit(alice_client, acme_repo).status_code == 302


def test_the_service_refuses_too(alice, acme_repo, fast_takes_no_images):
    from tasks.images.services import ImageUpload, images_check

    checked = images_check([ImageUpload("a.png", images.png())])
    with pytest.raises(services.TaskError, match="does not accept images"):
        services.task_create(author=alice, repository=acme_repo, mode="ask", prompt="x",
                             base_branch="", model_tier="fast", images=checked)
    assert not Task.objects.exists()


def test_a_follow_up_takes_images_for_its_own_turn(bob_client, bob, acme_repo, alice):
    parent = factories.make_finished_attempt(acme_repo, alice)

    response = bob_client.post(f"/attempts/{parent.pk}/follow-up/", {
        "prompt": "Now make it look like this.", "images": [upload(images.WEBP_LOSSLESS, "a.webp")],
    })

    new = parent.task.attempts.get(index=2)
    assert response.status_code == 302 and response["Location"].endswith("#attempt-2")
    image = TaskImage.objects.get()
    assert (image.attempt_id, image.media_type, image.uploaded_by) == (new.pk, "image/webp", bob)
    spec = agent_spec(new, base_commit="")
    assert spec.prompt == "Now make it look like this." and len(spec.images) == 1
    assert agent_spec(parent, base_commit="").images == ()  # the prompt had none
    page = bob_client.get(f"/tasks/{parent.task_id}/").content.decode()
    assert f'src="/images/{image.pk}/"' in page


def test_a_follow_up_with_a_bad_image_starts_nothing(alice_client, alice, acme_repo):
    parent = factories.make_finished_attempt(acme_repo, alice)
    response = alice_client.post(f"/attempts/{parent.pk}/follow-up/", {
        "prompt": "Look", "images": [upload(images.SVG, "x.svg")]}, follow=True)
    assert "x.svg is not a PNG, JPEG, WebP or GIF image" in response.content.decode()
    assert parent.task.attempts.count() == 1 and not TaskImage.objects.exists()


def test_a_retried_follow_up_keeps_its_images(alice, acme_repo):
    from tasks.images.services import ImageUpload, images_check

    parent = factories.make_finished_attempt(acme_repo, alice)
    follow = services.attempt_follow_up(attempt=parent, prompt="Like this", by=alice,
                                        images=images_check([ImageUpload("a.png", images.png())]))
    services.attempt_cancel(attempt_id=follow.pk, by=alice)

    retry = services.attempt_retry(attempt=follow, by=alice)

    assert [len(agent_spec(a, base_commit="").images) for a in (follow, retry)] == [1, 1]
    assert TaskImage.objects.filter(attempt=retry).get().sha256 == (
        TaskImage.objects.get(attempt=follow).sha256)


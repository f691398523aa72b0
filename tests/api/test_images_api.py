"""Images through the API (issue 14.2): base64 in the JSON body of create-task and follow-up,
decoded and checked like the composer's uploads. Every response is checked against OpenAPI."""

from __future__ import annotations

import copy

import pytest

from tasks import services
from tasks.images.models import TaskImage
from tasks.models import Task
from tests.support import factories, images
from tests.support.images import b64

pytestmark = pytest.mark.usefixtures("empty_queue")


def create(api, *imgs, **overrides):
    body = {"repository": "acme/webapp", "mode": "ask", "prompt": "What is this dialog?",
            "model": "strong", "images": list(imgs), **overrides}
    return api.post("/tasks", body)


@pytest.fixture
def strong_takes_no_images(settings):
    options = copy.deepcopy(settings.MODEL_TIER_OPTIONS)
    options["strong"]["images"] = False
    settings.MODEL_TIER_OPTIONS = options


def test_create_with_images_keeps_them_and_lists_them(alice_api, acme_repo):
    response = create(alice_api, {"name": "dialog.png", "data": b64(images.png(5, 4))},
                      {"data": b64(images.jpeg(10, 20))})

    assert response.status_code == 201
    body = response.json()
    assert [(i["name"], i["media_type"], i["width"], i["height"]) for i in body["images"]] == [
        ("dialog.png", "image/png", 5, 4), ("image-2.jpg", "image/jpeg", 10, 20)]
    assert body["images"][0]["web_url"] == f"/images/{body['images'][0]['id']}/"
    assert TaskImage.objects.filter(task_id=body["id"], attempt=None).count() == 2
    assert alice_api.get(f"/tasks/{body['id']}").json()["images"] == body["images"]


@pytest.mark.parametrize(
    "image,message",
    [
        ({"name": "cat.png", "data": b64(images.HTML_AS_PNG)},
         "cat.png is not a PNG, JPEG, WebP or GIF image"),
        ({"name": "logo.svg", "data": b64(images.SVG)}, "logo.svg is not a PNG, JPEG"),
        ({"name": "x.png", "data": "not base64!"}, "images[0]: `data` is not valid base64."),
        ({"name": "cut.png", "data": b64(images.png()[:20])}, "cut.png is a damaged PNG"),
    ],
)
def test_bad_images_are_refused_and_nothing_is_created(alice_api, acme_repo, image, message):
    response = create(alice_api, image)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_image"
    assert message in response.json()["error"]
    assert not Task.objects.exists() and not TaskImage.objects.exists()


def test_count_and_size_limits(alice_api, acme_repo, settings):
    settings.IMAGE_MAX_COUNT = 2
    three = [{"data": b64(images.GIF)}] * 3
    too_many = create(alice_api, *three)
    assert too_many.status_code == 400
    assert too_many.json()["error"] == "Attach at most 2 images (you chose 3)."

    settings.IMAGE_MAX_BYTES = 1024
    big = create(alice_api, {"name": "big.png", "data": b64(images.png() + b"\0" * 2048)})
    assert big.status_code == 400 and "big.png is 2 KB; images may be at most 1 KB." in (
        big.json()["error"])
    assert not Task.objects.exists()


def test_a_body_past_the_image_limits_is_413(alice_api, acme_repo, settings):
    settings.IMAGE_MAX_COUNT, settings.IMAGE_MAX_BYTES = 1, 1024
    response = create(alice_api, {"data": "A" * 400_000})
    assert response.status_code == 413 and response.json()["code"] == "too_large"


def test_a_tier_whose_model_takes_no_images_is_400(alice_api, acme_repo, strong_takes_no_images):
    response = create(alice_api, {"data": b64(images.png())})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "images_not_accepted"
    assert body["error"] == ("The Strong model (o3) does not accept images on this installation: "
                             "choose another model or remove the images.")
    assert not Task.objects.exists()
    assert create(alice_api).status_code == 201  # no images: fine


def test_follow_up_with_images(bob_api, acme_repo, alice, bob):
    parent = factories.make_finished_attempt(acme_repo, alice)

    body = {"prompt": "Make it match this.", "images": [{"data": b64(images.GIF)}]}
    response = bob_api.post(f"/attempts/{parent.pk}/follow-up", body)

    assert response.status_code == 201
    new = response.json()
    assert (new["parent"], new["index"], new["status"]) == (parent.pk, 2, "queued")
    assert response["Location"] == f"/api/v1/attempts/{new['id']}"
    image = TaskImage.objects.get()
    assert (image.attempt_id, image.media_type, image.uploaded_by) == (new["id"], "image/gif", bob)


def test_follow_up_refusals(alice_api, carol_api, acme_repo, alice):
    running = factories.make_task(acme_repo, alice).attempts.get()
    services.attempt_claim(attempt_id=running.pk)
    busy = alice_api.post(f"/attempts/{running.pk}/follow-up", {"prompt": "more"})
    assert busy.status_code == 409 and busy.json()["code"] == "cannot_follow_up"
    assert "Wait for this attempt to finish" in busy.json()["error"]

    parent = factories.make_finished_attempt(acme_repo, alice)
    svg = alice_api.post(f"/attempts/{parent.pk}/follow-up",
                         {"prompt": "more", "images": [{"name": "a.svg", "data": b64(images.SVG)}]})
    assert svg.status_code == 400 and svg.json()["code"] == "invalid_image"
    assert carol_api.post(f"/attempts/{parent.pk}/follow-up", {"prompt": "x"}).status_code == 404
    assert parent.task.attempts.count() == 1 and not TaskImage.objects.exists()

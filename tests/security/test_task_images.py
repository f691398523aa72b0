"""Attached images (issue 14.2) are never a way in: another team cannot fetch them, a file that
is not really a PNG/JPEG/WebP/GIF is refused whatever its name, and what is served is only ever
an image (decoded type, nosniff, a sandboxing CSP, a safe file name)."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tasks.images.models import TaskImage
from tasks.images.services import ImageUpload, images_check, images_store
from tasks.models import Task
from tests.support import factories, images


def stored(repository, author, data: bytes, name: str = "shot.png") -> TaskImage:
    task = factories.make_task(repository, author)
    [image] = images_store(task_id=task.pk, team_id=task.team_id, attempt_id=None, by=author,
                           images=images_check([ImageUpload(name, data)]))
    return image


def test_another_team_gets_404_and_no_bytes(carol_client, acme_repo, alice):
    image = stored(acme_repo, alice, images.png())
    response = carol_client.get(f"/images/{image.pk}/")
    assert response.status_code == 404
    assert images.png() not in response.content


def test_a_signed_out_visitor_gets_no_bytes(db, acme_repo, alice):
    image = stored(acme_repo, alice, images.png())
    response = Client().get(f"/images/{image.pk}/")
    assert response.status_code in (302, 404)
    assert images.png() not in response.content


def test_a_member_gets_the_image_as_its_decoded_type_and_nothing_else(bob_client, acme_repo, alice):
    image = stored(acme_repo, alice, images.png(7, 7))
    response = bob_client.get(f"/images/{image.pk}/")
    assert response.status_code == 200
    assert response.content == images.png(7, 7)
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Content-Disposition"] == 'inline; filename="shot.png"'


def test_a_gif_that_goes_on_as_html_is_still_served_as_a_gif(bob_client, acme_repo, alice):
    """A GIF header followed by a page: it decodes as a GIF, so it is one, served so that no
    browser renders the rest as HTML (no sniffing, scripts sandboxed, inline image only)."""
    image = stored(acme_repo, alice, images.GIF_HTML_POLYGLOT, "invoice.html")
    response = bob_client.get(f"/images/{image.pk}/")
    assert response["Content-Type"] == "image/gif"
    assert "html" not in response["Content-Type"] and "html" not in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_a_hostile_file_name_cannot_reach_the_header(bob_client, acme_repo, alice):
    image = stored(acme_repo, alice, images.png(), 'x"; filename=evil.html\r\nSet-Cookie: a=b.png')
    response = bob_client.get(f"/images/{image.pk}/")
    disposition = response["Content-Disposition"]
    assert disposition.startswith('inline; filename="') and disposition.endswith('.png"')
    assert disposition.count('"') == 2 and "\r" not in disposition and "\n" not in disposition
    assert "Set-Cookie" not in response.headers


def test_svg_and_html_named_as_images_are_refused_at_the_door(alice_client, acme_repo):
    for name, data, claimed in [
        ("diagram.svg", images.SVG, "image/svg+xml"),
        ("screenshot.png", images.HTML_AS_PNG, "image/png"),
        ("photo.jpg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>x()</script></svg>",
         "image/jpeg"),
    ]:
        response = alice_client.post("/", {
            "prompt": "Look", "repository": str(acme_repo.pk), "attempts": "1",
            "model_tier": "fast", "mode": "ask",
            "images": [SimpleUploadedFile(name, data, content_type=claimed)],
        })
        assert response.status_code == 400, name
        assert f"{name} is not a PNG, JPEG, WebP or GIF image" in response.content.decode()
    assert not Task.objects.exists() and not TaskImage.objects.exists()

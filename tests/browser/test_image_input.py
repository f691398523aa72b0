"""In Chromium (issue 14.2): images go into the composer by file picker, drag-and-drop and
paste, show as previews, a file that is not an image is named before anything is sent (the
prompt stays), and the task page shows the stored images as thumbnails under its CSP."""

from __future__ import annotations

import base64

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from tasks.images.models import TaskImage
from tasks.models import Task
from tests.support import factories, images
from tests.support.browser import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180), pytest.mark.usefixtures("empty_queue")]

# Builds File objects in the page and fires the event a person's drop or paste would.
DROP = """([name, type, b64]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, {type}));
  const form = document.querySelector("form.composer");
  const init = {bubbles: true, cancelable: true, dataTransfer: data};
  form.dispatchEvent(new DragEvent("dragover", init));
  form.dispatchEvent(new DragEvent("drop", init));
}"""
PASTE = """([name, type, b64]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, {type}));
  document.querySelector("#id_prompt").dispatchEvent(
    new ClipboardEvent("paste", {bubbles: true, cancelable: true, clipboardData: data}));
}"""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_pick_drop_and_paste_images_then_see_them_on_the_task_page(browser_page, acme_webapp):
    page = browser_page
    sign_in(page, "alice", then=f"/?repository={acme_webapp.pk}")
    page.get_by_label("Prompt").fill("Why is this button grey?")

    page.locator("#id_images").set_input_files(
        [{"name": "button.png", "mimeType": "image/png", "buffer": images.png(40, 20)}])
    page.evaluate(DROP, ["mock.gif", "image/gif", b64(images.GIF)])
    page.evaluate(PASTE, ["pasted.png", "image/png", b64(images.png(8, 8, (0, 0, 255)))])
    previews = page.locator("[data-image-previews] li")
    expect(previews).to_have_count(3)
    expect(previews.nth(0)).to_contain_text("button.png")
    expect(previews.nth(1)).to_contain_text("mock.gif")
    expect(previews.nth(0).locator("img")).to_have_attribute("src", "data:image/png;base64,"
                                                            + b64(images.png(40, 20)))

    # A page named .png is named before anything is sent; the prompt stays as typed.
    page.evaluate(DROP, ["notes.png", "image/png", b64(images.HTML_AS_PNG)])
    problem = page.locator("[data-image-problem]")
    expect(problem).to_have_text("notes.png is not a PNG, JPEG, WebP or GIF image.")
    page.get_by_role("button", name="Ask", exact=True).click()
    expect(problem).to_be_visible()
    assert Task.objects.count() == 0
    expect(page.get_by_label("Prompt")).to_have_value("Why is this button grey?")
    page.get_by_role("button", name="Remove notes.png").click()
    expect(problem).to_be_hidden()
    screenshot(page, "image-input-composer")

    page.get_by_role("button", name="Ask", exact=True).click()
    page.wait_for_url("**/tasks/*/")
    task = Task.objects.get()
    assert [(i.name, i.media_type) for i in TaskImage.objects.filter(task=task)] == [
        ("button.png", "image/png"), ("mock.gif", "image/gif"), ("pasted.png", "image/png")]
    thumbs = page.locator(".prompt .image-thumbs img")
    expect(thumbs).to_have_count(3)
    # Each thumbnail really loaded (served to a member, allowed by the page's CSP).
    page.wait_for_function(
        "() => [...document.querySelectorAll('.prompt .image-thumbs img')]"
        ".every(i => i.complete && i.naturalWidth > 0)")
    assert thumbs.nth(0).evaluate("i => i.naturalWidth") == 40
    screenshot(page, "image-input-task-page")


def test_the_follow_up_box_takes_images_too(browser_page, acme_webapp):
    """The follow-up box of a finished attempt: pick an image, send, and the new attempt's
    instruction shows it."""
    parent = factories.make_finished_attempt(acme_webapp, User.objects.get(username="alice"))
    page = browser_page
    sign_in(page, "alice", then=f"/tasks/{parent.task_id}/")
    page.get_by_label("Follow up on attempt 1").fill("Make it look like this.")
    page.locator(f"#follow-up-images-{parent.pk}").set_input_files(
        [{"name": "mock.png", "mimeType": "image/png", "buffer": images.png(30, 10)}])
    expect(page.locator("[data-result] [data-image-previews] li")).to_have_count(1)

    page.get_by_role("button", name="Send follow-up").click()

    page.wait_for_url("**#attempt-2")
    image = TaskImage.objects.get()
    assert (image.name, image.attempt.index) == ("mock.png", 2)
    thumb = page.locator("#attempt-2 .follow-up-prompt .image-thumbs img")
    expect(thumb).to_have_count(1)
    page.wait_for_function(
        "() => document.querySelector('#attempt-2 .follow-up-prompt .image-thumbs img')"
        ".naturalWidth === 30")

"""In Chromium: Ask/Code/Review with no repository chosen (or no prompt) say what is missing next
to the field, before anything is sent, so attached images stay attached; the server refuses the
same post with the same words when the page's check is bypassed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tasks.models import Task
from tests.support import factories, images
from tests.support.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180), pytest.mark.usefixtures("empty_queue")]


def test_pressing_code_without_a_repository_says_so_and_keeps_everything(
    browser_page, acme_webapp
):
    factories.make_repository(acme_webapp.team, owner="acme", name="website")
    page = browser_page
    sign_in(page, "alice", then="/")
    select = page.get_by_label("Repository", exact=True)
    expect(select).to_have_value("")
    page.get_by_role("button", name="Code", exact=True).click()

    # Nothing was sent: both missing fields are named, the first one has the focus.
    prompt_error = page.locator("#id_prompt_error")
    repository_error = page.locator("#id_repository_error")
    expect(prompt_error).to_have_text("Error: Describe what you want the agent to do.")
    expect(repository_error).to_have_text("Error: Choose a repository.")
    expect(page.get_by_label("Prompt")).to_be_focused()
    expect(select).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Prompt").fill("Make the button blue")
    expect(prompt_error).to_have_count(0)
    page.locator("#id_images").set_input_files(
        [{"name": "button.png", "mimeType": "image/png", "buffer": images.png(40, 20)}])
    page.get_by_role("button", name="Code", exact=True).click()
    expect(select).to_be_focused()
    expect(repository_error).to_have_text("Error: Choose a repository.")
    expect(page).to_have_url(re.compile(r"/$"))
    assert page.evaluate("() => document.getElementById('id_images').files.length") == 1
    assert page.get_by_label("Prompt").input_value() == "Make the button blue"
    assert not Task.objects.exists()

    # Choosing one clears the message; the task starts with its image.
    select.select_option(label="acme/webapp")
    expect(repository_error).to_have_count(0)
    expect(select).not_to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Code", exact=True).click()
    expect(page).to_have_url(re.compile(r"/tasks/\d+/$"))
    task = Task.objects.get()
    assert (task.repository, task.mode) == (acme_webapp, "code")
    assert task.prompt == "Make the button blue"
    assert task.images.count() == 1
    assert page.js_errors == []


def test_the_server_refuses_a_post_without_a_repository(browser_page, acme_webapp):
    factories.make_repository(acme_webapp.team, owner="acme", name="website")
    page = browser_page
    sign_in(page, "alice", then="/")
    page.get_by_label("Prompt").fill("Why is the build slow?")
    # form.submit() skips the page's check, as a page without script would.
    page.evaluate("() => document.querySelector('form.composer').submit()")
    expect(page.locator("#error-summary")).to_contain_text("Choose a repository.")
    expect(page.get_by_label("Prompt")).to_have_value("Why is the build slow?")
    assert not Task.objects.exists()

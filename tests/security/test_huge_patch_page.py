"""An attempt's patch can be huge (a generated file, a vendored folder: up to the 20 MB the
worker takes). The task page must stay usable and cheap for the server on every view: it shows
the files' counts and the lines of the first files up to a budget
(tasks.rendering.diff.MAX_SHOWN_LINES), and says which files are too large to show.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tasks.rendering.diff import MAX_SHOWN_LINES
from tests.security.route_walk import make_world

pytestmark = pytest.mark.django_db

BIG_LINES = 60_000


def added(name: str, lines: list[str]) -> str:
    body = "".join(f"+{line}\n" for line in lines)
    return (f"diff --git a/{name} b/{name}\nnew file mode 100644\n--- /dev/null\n"
            f"+++ b/{name}\n@@ -0,0 +1,{len(lines)} @@\n{body}")


@pytest.fixture
def huge(acme, alice, bob) -> dict[str, Any]:
    world = make_world(acme, alice, bob, "hx51")
    attempt = world["attempt"]
    attempt.patch = added("src/small.py", ["print('small change')"]) + added(
        "data/generated.txt", [f"row {i}" for i in range(BIG_LINES)]
    )
    attempt.save(update_fields=["patch"])
    return world


def test_a_huge_patch_shows_its_small_files_and_names_the_rest(huge, alice):
    browser = Client()
    browser.force_login(alice)
    response = browser.get(reverse("tasks:detail", args=[huge["task"].pk]))
    assert response.status_code == 200
    body = response.content.decode()

    assert body.count('class="d-add"') <= MAX_SHOWN_LINES  # not 60 001 rows
    assert "src/small.py" in body and "small change" in body  # the small file is shown
    assert "data/generated.txt" in body and f"+{BIG_LINES}" in body  # the big one is counted
    assert "row 59999" not in body
    assert body.count("data-too-large") == 1


@pytest.mark.parametrize("page", ["tasks:detail", "tasks:attempt_result"])
def test_a_page_view_parses_the_huge_patch_once(huge, alice, monkeypatch, page):
    """The counts (files, lines) and the diff come from one parse of the patch: each parse of
    the 60 000-line patch costs the server about a second of CPU here. (bench/diff_page.py
    times it.)"""
    from tasks.rendering import diff

    parsed: list[int] = []
    real_parse = diff.parse_patch

    def counting_parse(text: str):  # noqa: ANN202
        if "data/generated.txt" in text:
            parsed.append(len(text))
        return real_parse(text)

    monkeypatch.setattr(diff, "parse_patch", counting_parse)
    browser = Client()
    browser.force_login(alice)
    target = huge["task"] if page == "tasks:detail" else huge["attempt"]

    response = browser.get(reverse(page, args=[target.pk]))

    assert response.status_code == 200
    assert f"+{BIG_LINES}" in response.content.decode()
    assert len(parsed) == 1

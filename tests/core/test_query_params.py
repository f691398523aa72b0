"""Query ints and dates, read once for the API (clear 400s) and the pages (defaults instead).

The pages used `raw.isdigit()` then `int(raw)`: "²" is a digit to isdigit() but not to int(),
so a hand-edited link answered 500 (history, audit log, file viewer). These tests send it to
every page that reads a number."""

from __future__ import annotations

from datetime import date

import pytest
from django.http import QueryDict
from django.urls import reverse

from codexweb.query_params import (
    QueryParamError,
    optional_date,
    optional_int,
    query_date,
    query_int,
)
from tests.support import factories


def _q(text: str) -> QueryDict:
    return QueryDict(text)


def test_query_int_reads_whole_numbers_in_range_and_defaults_when_absent():
    assert query_int(_q("limit=7"), "limit", 50, minimum=1, maximum=100) == 7
    assert query_int(_q("limit=+7"), "limit", 50, minimum=1, maximum=100) == 7
    assert query_int(_q("limit="), "limit", 50, minimum=1, maximum=100) == 50
    assert query_int(_q(""), "limit", 50, minimum=1, maximum=100) == 50


@pytest.mark.parametrize(
    "text,message",
    [
        ("limit=ten", "limit must be a whole number, not 'ten'."),
        ("limit=%C2%B2", "limit must be a whole number, not '²'."),
        ("limit=1.5", "limit must be a whole number, not '1.5'."),
        ("limit=1_000", "limit must be a whole number, not '1_000'."),
        ("limit=0", "limit must be between 1 and 100."),
        ("limit=101", "limit must be between 1 and 100."),
        ("limit=" + "9" * 40, "limit must be a whole number, not '" + "9" * 40 + "'."),
    ],
)
def test_query_int_names_the_parameter_and_the_problem(text, message):
    with pytest.raises(QueryParamError) as caught:
        query_int(_q(text), "limit", 50, minimum=1, maximum=100)
    assert str(caught.value) == message


def test_query_date_reads_iso_days_and_refuses_anything_else():
    assert query_date(_q("since=2026-03-01"), "since") == date(2026, 3, 1)
    assert query_date(_q("since="), "since") is None
    with pytest.raises(QueryParamError, match="since must be a date written YYYY-MM-DD"):
        query_date(_q("since=yesterday"), "since")
    with pytest.raises(QueryParamError, match="since must be a date"):
        query_date(_q("since=2026-02-30"), "since")


def test_the_lenient_forms_fall_back_to_none():
    assert optional_int(_q("author=12"), "author") == 12
    for bad in ("author=", "author=x", "author=%C2%B2", "author=0", "author=-3"):
        assert optional_int(_q(bad), "author") is None, bad
    assert optional_int(_q("page=7"), "page", maximum=5) is None
    assert optional_date(_q("since=2026-03-01"), "since") == date(2026, 3, 1)
    assert optional_date(_q("since=not-a-date"), "since") is None


@pytest.mark.django_db
def test_history_page_ignores_a_number_int_cannot_read(alice_client, acme_repo, alice):
    factories.make_task(acme_repo, alice, prompt="Explain the build")
    response = alice_client.get(
        reverse("tasks:history"), {"author": "²", "repo": "²", "page": "²"}, follow=True
    )
    assert response.status_code == 200
    assert "Explain the build" in response.content.decode()  # no filter applied


@pytest.mark.django_db
def test_sidebar_ignores_a_number_int_cannot_read(alice_client, acme_repo, alice):
    factories.make_task(acme_repo, alice, prompt="Explain the build")
    response = alice_client.get(reverse("tasks:home"), {"author": "²", "repo": "²"})
    assert response.status_code == 200 and "Explain the build" in response.content.decode()


@pytest.mark.django_db
def test_audit_log_ignores_a_number_int_cannot_read(alice_client, acme, alice):
    from codexweb.audit.services import audit_record

    audit_record(team=acme, actor=alice, action="member.removed", target="bob")
    response = alice_client.get(reverse("audit:log"), {"actor": "²"})
    assert response.status_code == 200 and "member.removed" in response.content.decode()


@pytest.mark.django_db
def test_file_viewer_ignores_a_line_int_cannot_read(alice_client, acme_repo, alice):
    attempt = factories.make_task(acme_repo, alice).attempts.get()
    response = alice_client.get(
        reverse("tasks:attempt_file", args=[attempt.pk]),
        {"path": "app.py", "start": "²", "end": "²", "partial": "1"},
    )
    assert response.status_code == 200

"""The event contract (tasks/event_kinds.py): what a writer may publish, and what the live pages
are told about it. A broken event is refused at the writer, before anything is stored."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from codexweb.api import stream
from tasks import event_kinds as kinds
from tasks import events
from tasks.live_contract import ELEMENT_ID, live_contract
from tasks.models import FINISHED_STATUSES, Attempt, Status

pytestmark = pytest.mark.django_db


def test_an_unknown_kind_is_refused_and_nothing_is_written(acme_attempt):
    with pytest.raises(kinds.EventContractError, match="Unknown event kind 'note'"):
        events.publish(acme_attempt.pk, "note", {"text": "hello"})
    assert not acme_attempt.events.exists()
    assert Attempt.objects.get(pk=acme_attempt.pk).last_seq == 0


def test_a_payload_missing_a_required_key_is_refused_and_names_it(acme_attempt):
    with pytest.raises(kinds.EventContractError, match="'command_end' event needs exit_code"):
        events.publish(acme_attempt.pk, kinds.COMMAND_END, {"call_id": "x", "chunk_id": "c1"})
    assert not acme_attempt.events.exists()


def test_optional_keys_may_be_left_out_and_extra_keys_are_kept(acme_attempt):
    event = events.publish(
        acme_attempt.pk, kinds.OUTPUT, {"chunk_id": "c1", "text": "ok\n", "extra": 1}
    )
    assert event.seq == 1
    assert event.payload == {"chunk_id": "c1", "text": "ok\n", "extra": 1}


def test_every_kind_has_a_constant_named_after_it():
    # The page names kinds by these constants (static/js/live/contract.js: KIND.COMMAND_END).
    for kind in kinds.ALL:
        assert getattr(kinds, kind.upper()) == kind
    assert live_contract()["kinds"] == {kind.upper(): kind for kind in kinds.ALL}


def test_no_kind_takes_the_name_of_a_stream_control_event():
    # The SSE stream names each event by its kind, next to its own end/timeout/forbidden.
    assert not stream.CONTROL_EVENTS & kinds.ALL


def test_the_page_carries_the_contract_as_json(acme_task, alice):
    client = Client()
    client.force_login(alice)
    html = client.get(f"/tasks/{acme_task.pk}/").content.decode()
    start = html.index(f'<script id="{ELEMENT_ID}" type="application/json">')
    body = html[html.index(">", start) + 1 : html.index("</script>", start)]
    contract = json.loads(body)
    assert contract["statuses"]["RUNNING"] == Status.RUNNING
    assert contract["statusLabels"] == {s.value: s.label for s in Status}
    assert set(contract["finished"]) == set(FINISHED_STATUSES)
    assert contract["kinds"]["COMMAND_END"] == kinds.COMMAND_END
    # The scripts are ES modules (deferred; they import the shared socket and contract).
    assert '<script type="module" src="/static/js/live/page.js">' in html
    assert '<script type="module" src="/static/js/team-live.js">' in html

"""The audit log: admins read, filter and export it; members and other teams cannot."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse

from codexweb.audit.models import AuditEntry
from codexweb.audit.services import AuditError, audit_record
from tasks import services
from tests.support import factories


@pytest.fixture
def entries(acme, globex, alice, bob, carol):
    audit_record(
        team=acme,
        actor=alice,
        action="member.role_changed",
        target="bob",
        changes={"role": ["member", "admin"]},
    )
    audit_record(
        team=acme,
        actor=bob,
        action="policy.updated",
        target="acme/webapp",
        changes={"internet_policy": ["off", "on"]},
    )
    audit_record(team=acme, actor=alice, action="member.removed", target="=cmd|' /C calc'!A0")
    audit_record(team=globex, actor=carol, action="policy.updated", target="globex/secret-plans")


def test_admin_sees_the_teams_entries_only(alice_client, entries):
    body = alice_client.get(reverse("audit:log")).content.decode()
    assert "member.role_changed" in body and "acme/webapp" in body
    assert "globex/secret-plans" not in body


@pytest.mark.parametrize("name", ["bob", "carol_for_acme"])
def test_members_and_other_teams_cannot_read_it(client, entries, bob, carol, name):
    if name == "bob":
        client.force_login(bob)
        assert client.get(reverse("audit:log")).status_code == 404
        assert client.get(reverse("audit:export", args=["csv"])).status_code == 404
    else:
        client.force_login(carol)  # carol administers Globex: she sees Globex's log only
        body = client.get(reverse("audit:log")).content.decode()
        assert "globex/secret-plans" in body and "acme/webapp" not in body


def test_anonymous_is_sent_to_sign_in(client):
    assert client.get(reverse("audit:log")).status_code == 302
    assert client.get(reverse("audit:export", args=["jsonl"])).status_code == 302


def test_filters(alice_client, entries, bob):
    body = alice_client.get(reverse("audit:log"), {"action": "policy.updated"}).content.decode()
    assert "acme/webapp" in body and "member.role_changed</code>" not in body
    body = alice_client.get(reverse("audit:log"), {"actor": bob.pk}).content.decode()
    assert "policy.updated</code>" in body and "member.role_changed</code>" not in body
    body = alice_client.get(reverse("audit:log"), {"since": "2999-01-01"}).content.decode()
    assert "Nothing recorded" in body


def test_export_csv_and_jsonl(alice_client, entries):
    response = alice_client.get(reverse("audit:export", args=["csv"]), {"action": "member.removed"})
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="audit-acme.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["id", "created_at", "actor", "action", "target", "changes"]
    assert len(rows) == 2
    assert rows[1][4].startswith("'=")  # spreadsheet formulas are defused
    response = alice_client.get(reverse("audit:export", args=["jsonl"]))
    lines = [
        json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()
    ]
    assert {line["action"] for line in lines} == {
        "member.role_changed",
        "policy.updated",
        "member.removed",
    }
    assert lines[-1]["changes"] == {"role": ["member", "admin"]}  # oldest last
    assert alice_client.get(reverse("audit:export", args=["xml"])).status_code == 404


def test_audit_refuses_secret_values(acme, alice):
    with pytest.raises(AuditError):
        audit_record(
            team=acme, actor=alice, action="secret.set", changes={"name": "X", "value": "v"}
        )


def test_task_cancellation_is_audited(acme_repo, acme, bob):
    attempt = factories.make_task(acme_repo, bob).attempts.get()
    services.attempt_cancel(attempt_id=attempt.pk, by=bob)
    entry = AuditEntry.objects.get(team=acme, action="task.cancelled")
    assert entry.actor_name == "bob"
    assert entry.changes == {"task": attempt.task_id, "attempt": 1}

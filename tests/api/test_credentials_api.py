"""/api/v1/repositories/{id}/credentials: team admins list, add (or replace) and delete the
credentials the egress proxy adds; values are write-only; everyone else gets 404. Every response
is checked against the OpenAPI description (tests/api/conftest.py)."""

from __future__ import annotations

import logging

from codexweb.audit.models import AuditEntry
from repos.credentials.models import EnvironmentCredential

TOKEN = "api-cred-token-never-returned-77aa55"


def _path(repo, *extra) -> str:
    return "/".join([f"/repositories/{repo.pk}/credentials", *map(str, extra)])


def test_admin_lists_adds_replaces_and_deletes(alice_api, acme, acme_repo, caplog):
    caplog.set_level(logging.DEBUG)
    body = {"name": "api", "domain": "API.example.org", "kind": "header",
            "header_name": "X-Api-Key", "value": TOKEN}
    created = alice_api.post(_path(acme_repo), body)
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["domain"] == "api.example.org" and data["header"] == "X-Api-Key"
    assert data["last_used_at"] is None and data["reachable"] is False  # policy is off
    replaced = alice_api.post(_path(acme_repo), {**body, "kind": "bearer", "header_name": ""})
    assert replaced.status_code == 201 and replaced.json()["id"] == data["id"]
    assert replaced.json()["header"] == "Authorization"
    listed = alice_api.get(_path(acme_repo))
    assert [c["name"] for c in listed.json()["results"]] == ["api"]
    for response in (created, replaced, listed):
        assert TOKEN.encode() not in response.content
    stored = EnvironmentCredential.objects.get(pk=data["id"])
    assert TOKEN not in stored.value_encrypted and stored.reveal() == f"Bearer {TOKEN}"
    deleted = alice_api.call("DELETE", _path(acme_repo, data["id"]))
    assert deleted.status_code == 204
    assert not EnvironmentCredential.objects.exists()
    actions = list(
        AuditEntry.objects.filter(team=acme, action__startswith="credential.")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["credential.added", "credential.replaced", "credential.deleted"]
    assert TOKEN not in caplog.text


def test_bad_credentials_get_a_clear_400_without_the_value(alice_api, acme_repo):
    for body, message in (
        ({"name": "x", "domain": "10.0.0.1", "kind": "bearer", "value": TOKEN}, "not an IP"),
        ({"name": "x", "domain": "a.example", "kind": "header", "header_name": "X-K",
          "value": TOKEN + "\r\nX-Injected: 1"}, "line breaks"),
        ({"name": "x", "domain": "a.example", "kind": "digest", "value": TOKEN}, "kind"),
        ({"name": "x", "domain": "a.example", "kind": "bearer", "value": TOKEN, "extra": 1},
         "extra"),
    ):
        response = alice_api.post(_path(acme_repo), body)
        assert response.status_code == 400, response.content
        assert message.lower() in response.json()["error"].lower()
        assert TOKEN.encode() not in response.content
    assert not EnvironmentCredential.objects.exists()


def test_members_and_other_teams_get_404(alice_api, bob_api, carol_api, acme_repo):
    made = alice_api.post(
        _path(acme_repo), {"name": "k", "domain": "a.example", "kind": "bearer", "value": TOKEN}
    ).json()
    for api in (bob_api, carol_api):
        assert api.get(_path(acme_repo)).status_code == 404
        assert api.post(
            _path(acme_repo), {"name": "k", "domain": "b.example", "kind": "bearer", "value": "v"}
        ).status_code == 404
        assert api.call("DELETE", _path(acme_repo, made["id"])).status_code == 404
    assert EnvironmentCredential.objects.get().domain == "a.example"


def test_a_token_is_needed(anonymous_api, acme_repo):
    assert anonymous_api.get(_path(acme_repo)).status_code == 401

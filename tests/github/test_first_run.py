"""First run for a GitHub user: before any repository is connected, the composer's empty state
leads with connecting their GitHub repositories; registering by URL or path comes second."""

from __future__ import annotations

import re

from django.test import Client

from repos.github.credentials import credential_store


def _actions(html: str) -> list[tuple[str, str]]:
    """(href, text) of the links in the empty state, in page order."""
    state = html.split('id="composer-unavailable"', 1)[1].split("</div>", 1)[0]
    return [(href, re.sub(r"\s+", " ", text).strip())
            for href, text in re.findall(r'<a [^>]*href="([^"]+)"[^>]*>(.*?)</a>', state, re.S)]


def test_a_github_admin_is_led_to_connect_first(alice_client, alice, acme):
    credential_store(user=alice, provider="github", login="alice-gh", external_id=42,
                     token="gho_unused")
    actions = _actions(alice_client.get("/").content.decode())
    assert actions == [("/repositories/connect/", "Connect your GitHub repositories"),
                       ("/repositories/new/", "Register a repository")]
    html = alice_client.get("/").content.decode()
    primary = re.search(r'<a class="([^"]*)" href="/repositories/connect/"', html)
    assert primary is not None and "primary" in primary.group(1).split()


def test_without_github_sign_in_registering_stays_the_only_action(alice_client, acme):
    assert _actions(alice_client.get("/").content.decode()) == [
        ("/repositories/new/", "Register a repository")]


def test_a_member_who_is_not_admin_is_not_sent_to_connect(bob, acme):
    credential_store(user=bob, provider="github", login="bob-gh", external_id=43,
                     token="gho_unused")
    client = Client()
    client.force_login(bob)
    html = client.get("/").content.decode()
    assert _actions(html) == []
    assert "Ask an admin of Acme to register one." in html


def test_once_a_repository_is_connected_the_empty_state_is_gone(alice_client, alice, acme_repo):
    credential_store(user=alice, provider="github", login="alice-gh", external_id=42,
                     token="gho_unused")
    html = alice_client.get("/").content.decode()
    assert 'id="composer-unavailable"' not in html
    assert "Connect your GitHub repositories" not in html

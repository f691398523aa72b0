"""Fixtures shared by every area: the people and teams the tests talk about.

alice administers team Acme; bob is a member of Acme; carol administers another team, Globex,
and must never see Acme's things.
"""

from __future__ import annotations

import pytest

from tests.support import factories


@pytest.fixture
def alice(db):
    return factories.make_user("alice")


@pytest.fixture
def bob(db):
    return factories.make_user("bob")


@pytest.fixture
def carol(db):
    return factories.make_user("carol")


@pytest.fixture
def acme(alice, bob):
    team = factories.make_team("Acme", admin=alice)
    factories.add_member(team, bob)
    return team


@pytest.fixture
def globex(carol):
    return factories.make_team("Globex", admin=carol)


@pytest.fixture
def acme_repo(acme):
    return factories.make_repository(acme, owner="acme", name="webapp")


@pytest.fixture
def globex_repo(globex):
    return factories.make_repository(globex, owner="globex", name="secret-plans")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


@pytest.fixture
def carol_client(client, carol):
    client.force_login(carol)
    return client

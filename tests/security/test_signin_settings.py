"""The sign-in policy setting: a value the app cannot honour stops it at start, with the reason."""

from __future__ import annotations

import pytest

from tests.support.manage import manage


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"SIGNIN_POLICY": "everyone"}, "SIGNIN_POLICY must be invite-only, orgs or open"),
        ({"SIGNIN_POLICY": "orgs"}, "SIGNIN_POLICY=orgs needs SIGNIN_GITHUB_ALLOWED_ORGS"),
    ],
)
def test_an_unusable_policy_refuses_to_start(env, complaint):
    result = manage("check", **env)
    assert result.returncode != 0
    assert complaint in result.stderr


def test_orgs_with_a_list_starts():
    result = manage("check", SIGNIN_POLICY="orgs", SIGNIN_GITHUB_ALLOWED_ORGS="acme, Acme-Labs")
    assert result.returncode == 0, result.stderr

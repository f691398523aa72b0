"""The worker turns the proxy's record of credential uses (ids and times, never values) into
the environment page's "last used"; a bad record never masks how the attempt ended."""

from __future__ import annotations

from datetime import UTC, datetime

from repos.credentials.models import EnvironmentCredential
from repos.credentials.services import CredentialInput, credential_set
from tasks.sandbox.base import CredentialUse
from tasks.worker.credential_uses import record_credential_uses
from tests.support.memory_sandbox import MemorySandbox


class UsedSandbox(MemorySandbox):
    def __init__(self, uses: list[CredentialUse] | Exception) -> None:
        super().__init__()
        self._uses = uses

    def credential_uses(self) -> list[CredentialUse]:
        if isinstance(self._uses, Exception):
            raise self._uses
        return self._uses


def test_the_latest_use_of_each_credential_is_stamped(acme_repo, alice):
    made = credential_set(
        environment=acme_repo.environment, actor=alice,
        data=CredentialInput(name="k", domain="a.example", kind="bearer", value="v"),
    )
    first, last = 1_700_000_000.0, 1_700_000_100.0
    record_credential_uses(
        UsedSandbox(
            [
                CredentialUse(at=last, id=made.pk, host="a.example"),
                CredentialUse(at=first, id=made.pk, host="a.example"),
                CredentialUse(at=first, id=made.pk + 999, host="gone.example"),  # deleted since
            ]
        )
    )
    made.refresh_from_db()
    assert made.last_used_at == datetime.fromtimestamp(last, tz=UTC)


def test_an_unreadable_record_is_only_logged(acme_repo, alice, caplog):
    credential_set(
        environment=acme_repo.environment, actor=alice,
        data=CredentialInput(name="k", domain="a.example", kind="bearer", value="v"),
    )
    record_credential_uses(UsedSandbox(ValueError("broken line")))
    assert EnvironmentCredential.objects.get().last_used_at is None
    assert "could not record" in caplog.text

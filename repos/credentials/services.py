"""A team admin's writes to an environment's credentials, and what the worker reads.

A credential's value is encrypted at rest and leaves `value_encrypted` only through
`credentials_for_proxy`, which the worker calls to hand the values to the egress proxy (never
to the container). Every add, replace and delete is audited by name and domain, never value.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet

from codexweb import crypto
from codexweb.audit import actions
from repos.audit import repository_audit
from repos.credentials.models import CredentialKind, EnvironmentCredential
from repos.domains import DomainError, normalize_domain
from repos.models import Environment
from tasks.sandbox.egress.credentials import CredentialError, EgressCredential, header_for

logger = logging.getLogger(__name__)
MAX_VALUE_BYTES = 16 * 1024
MAX_CREDENTIALS = 50


class CredentialChangeError(ValueError):
    """A credential change that cannot be made; the message is for the person."""


@dataclass(frozen=True)
class CredentialInput:
    """What an admin submitted (form or API). `value` is the header value or the bearer token;
    `username`/`password` are for basic auth."""

    name: str
    domain: str
    kind: str
    header_name: str = ""
    # Never in a repr, so never in a log or a traceback (as EgressCredential's value).
    value: str = field(default="", repr=False)
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    path_prefix: str = "/"
    allow_http: bool = False


def credentials_of(environment: Environment) -> QuerySet[EnvironmentCredential]:
    """An environment's credentials, by name (what the page and the API list)."""
    return EnvironmentCredential.objects.filter(environment=environment).order_by("name")


def _checked(data: CredentialInput) -> tuple[str, str, str, str]:
    """(name, domain, header name, header value), or CredentialChangeError saying why."""
    name = data.name.strip()
    if not name or len(name) > 100:
        raise CredentialChangeError("Give the credential a name (100 characters at most).")
    if data.kind not in CredentialKind.values:
        raise CredentialChangeError(
            f"Unknown credential kind {data.kind!r}: choose {', '.join(CredentialKind.values)}."
        )
    try:
        domain = normalize_domain(data.domain)
    except DomainError as exc:
        raise CredentialChangeError(str(exc)) from exc
    try:
        header, value = header_for(
            data.kind,
            name=data.header_name,
            value=data.value,
            user=data.username,
            password=data.password,
        )
    except CredentialError as exc:
        raise CredentialChangeError(str(exc)) from exc
    if len(value.encode()) > MAX_VALUE_BYTES:
        raise CredentialChangeError("A credential may be 16 kB at most.")
    return name, domain, header, value


def _path_prefix(text: str) -> str:
    prefix = (text or "/").strip() or "/"
    if not prefix.startswith("/") or any(c.isspace() or c in "?#" for c in prefix):
        raise CredentialChangeError(
            "A path prefix starts with '/' and holds no spaces, '?' or '#' (e.g. /simple/)."
        )
    if len(prefix) > 500:
        raise CredentialChangeError("The path prefix is too long (500 characters at most).")
    return prefix


@transaction.atomic
def credential_set(
    *, environment: Environment, actor: User, data: CredentialInput
) -> EnvironmentCredential:
    """Add a credential, or replace the one of the same name. Audited (name, domain, kind,
    header, path — never the value). CredentialChangeError for unusable input; nothing saved."""
    name, domain, header, value = _checked(data)
    prefix = _path_prefix(data.path_prefix)
    credential = EnvironmentCredential.objects.filter(environment=environment, name=name).first()
    created = credential is None
    if credential is None:
        if credentials_of(environment).count() >= MAX_CREDENTIALS:
            raise CredentialChangeError(f"At most {MAX_CREDENTIALS} credentials per repository.")
        credential = EnvironmentCredential(environment=environment, name=name, created_by=actor)
    credential.domain = domain
    credential.kind = data.kind
    credential.header_name = header
    credential.path_prefix = prefix
    credential.allow_http = bool(data.allow_http)
    credential.seal(value)
    credential.save()
    _audit(
        environment,
        actor,
        actions.CREDENTIAL_ADDED if created else actions.CREDENTIAL_REPLACED,
        credential,
    )
    return credential


@transaction.atomic
def credential_delete(*, credential: EnvironmentCredential, actor: User) -> None:
    environment = credential.environment
    _audit(environment, actor, actions.CREDENTIAL_DELETED, credential)
    credential.delete()


def _audit(
    environment: Environment, actor: User, action: str, credential: EnvironmentCredential
) -> None:
    """Audited by name, domain and how it is sent; never its value."""
    changes: dict[str, object] = {
        "name": credential.name, "domain": credential.domain, "kind": credential.kind,
        "header": credential.header_name, "path_prefix": credential.path_prefix,
        "allow_http": credential.allow_http,
    }
    repository_audit(environment.repository, actor=actor, action=action, changes=changes,
                     item=credential.name)


def credentials_for_proxy(environment_id: int) -> tuple[EgressCredential, ...]:
    """The clear credentials for an attempt's egress proxy (the worker calls this; nothing
    else may). A credential that no longer decrypts is left out rather than failing the run."""
    out = []
    for credential in EnvironmentCredential.objects.filter(environment_id=environment_id):
        try:
            value = credential.reveal()
        except crypto.DecryptionError:
            logger.warning("credential %s cannot be decrypted with the current key", credential.pk)
            continue
        out.append(
            EgressCredential(
                id=credential.pk,
                domain=credential.domain,
                header=credential.header_name,
                value=value,
                path_prefix=credential.path_prefix,
                allow_http=credential.allow_http,
            )
        )
    return tuple(out)


def credentials_mark_used(uses: Iterable[tuple[int, datetime]]) -> None:
    """Record when each credential was last added to a request (ids of deleted ones ignored)."""
    latest: dict[int, datetime] = {}
    for credential_id, at in uses:
        if credential_id not in latest or at > latest[credential_id]:
            latest[credential_id] = at
    for credential_id, at in latest.items():
        EnvironmentCredential.objects.filter(pk=credential_id).update(last_used_at=at)

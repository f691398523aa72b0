"""What the environment page and the API show of an environment's credentials: never a value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from repos.credentials.models import EnvironmentCredential
from repos.credentials.services import credentials_of
from repos.models import Environment, InternetPolicy
from tasks.sandbox.egress.policy import domain_matches


@dataclass(frozen=True)
class CredentialRow:
    """One credential as listed: what it is for and whether the agent phase can reach it."""

    id: int
    name: str
    domain: str
    kind: str
    kind_label: str
    header: str
    path_prefix: str
    allow_http: bool
    updated_at: datetime
    last_used_at: datetime | None
    reachable: bool  # the agent policy lets requests reach the domain at all


def agent_policy_reaches(environment: Environment, domain: str) -> bool:
    """Whether the agent phase's policy allows `domain` (a credential never opens egress by
    itself). A wildcard credential counts as reachable when the allowlist has the same
    wildcard or a wider one."""
    if environment.internet_policy == InternetPolicy.ON:
        return True
    if environment.internet_policy != InternetPolicy.ALLOWLIST:
        return False
    patterns = list(environment.allowed_domains or [])
    for domain_list in environment.domain_lists.all():
        patterns.extend(domain_list.domains)
    if domain.startswith("*."):
        return any(p == domain or (p.startswith("*.") and domain.endswith(p[1:])) for p in patterns)
    return any(domain_matches(p, domain) for p in patterns)


def credential_rows(environment: Environment) -> list[CredentialRow]:
    return [_row(environment, c) for c in credentials_of(environment)]


def _row(environment: Environment, credential: EnvironmentCredential) -> CredentialRow:
    return CredentialRow(
        id=credential.pk,
        name=credential.name,
        domain=credential.domain,
        kind=credential.kind,
        kind_label=credential.get_kind_display(),
        header=credential.header_name,
        path_prefix=credential.path_prefix,
        allow_http=credential.allow_http,
        updated_at=credential.updated_at,
        last_used_at=credential.last_used_at,
        reachable=agent_policy_reaches(environment, credential.domain),
    )

"""Adding one domain to a repository's agent allowlist, from a just-in-time approval.

The environment page edits the whole policy (`services.environment_update`); this is the one
narrow change a team admin makes from a running attempt ("Add to this repository's
allowlist"): one domain appended, audited like any policy change, seen by attempts that start
later (a running attempt keeps its snapshot; the approval itself opens it for that attempt).
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from codexweb.audit import actions
from repos.audit import repository_audit
from repos.domains import MAX_DOMAINS, DomainError, normalize_domain
from repos.environments.services import environment_for
from repos.models import Environment, Repository


@transaction.atomic
def environment_allow_domain(
    *, repository: Repository, actor: User, domain: str, reason: str = ""
) -> bool:
    """Append `domain` to the repository's agent allowlist and audit it (`reason` says where
    it came from, e.g. "approved for task #12 attempt 1"). Returns False when it was listed
    already (nothing changes). Raises DomainError for a pattern the allowlist cannot hold.
    The caller checks that `actor` administers the repository's team."""
    domain = normalize_domain(domain)
    environment = Environment.objects.select_for_update().get(pk=environment_for(repository).pk)
    old = list(environment.allowed_domains or [])
    if domain in old:
        return False
    if len(old) >= MAX_DOMAINS:
        raise DomainError(f"At most {MAX_DOMAINS} domains per list.")
    environment.allowed_domains = [*old, domain]
    environment.save(update_fields=["allowed_domains", "updated_at"])
    changes: dict[str, object] = {"allowed_domains": [old, environment.allowed_domains]}
    if reason:
        changes["reason"] = reason
    repository_audit(repository, actor=actor, action=actions.POLICY_UPDATED, changes=changes)
    return True

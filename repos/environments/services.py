"""A repository's environment: image, setup and maintenance scripts, variables, PATH prefix,
secrets, internet policy, cache.

Writes are audited (names and non-secret values only; a secret's value never leaves
`EnvironmentSecret.value_encrypted` except through `secret_values_for_setup`). Attempts copy
`environment_snapshot()` when they start, so a change applies only to attempts that start later.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from codexweb.accounts.models import DomainList
from codexweb.audit import actions
from repos.audit import repository_audit
from repos.domains import HTTP_METHODS, parse_domains, parse_methods
from repos.installation.services import repository_identity
from repos.models import Environment, EnvironmentSecret, InternetPolicy, Repository, SandboxImage
from tasks.sandbox.base import SandboxError
from tasks.sandbox.spec import check_path_prefix
from tasks.worker.sandbox_settings import image_for

SNAPSHOT_VERSION = 1
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
# Set by the sandbox itself; a repository may not override them.
RESERVED_VARIABLES = frozenset(
    {
        "PATH",
        "HOME",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
    }
)
MAX_SETUP_SCRIPT = 100_000
MAX_SECRET_BYTES = 64 * 1024
POLICY_FIELDS = (
    "internet_policy",
    "allowed_domains",
    "allowed_methods",
    "domain_lists",
    "setup_internet_policy",
    "setup_allowed_domains",
    "setup_domain_lists",
)


class EnvironmentChangeError(ValueError):
    """An environment change that cannot be made; the message is for the person."""


def variable_name_check(name: str) -> str:
    name = name.strip()
    if not _VAR_NAME.match(name):
        raise EnvironmentChangeError(
            f"{name!r} is not a usable variable name "
            "(letters, digits and _, not starting with a digit)."
        )
    if name == "PATH":
        raise EnvironmentChangeError(
            "PATH is set by the sandbox and cannot be replaced (that could hide its own tools); "
            "to add folders in front of it, list them under \u201cPATH prefix\u201d instead."
        )
    if name in RESERVED_VARIABLES:
        raise EnvironmentChangeError(f"{name} is set by the sandbox and cannot be overridden.")
    return name


def parse_path_prefix(text: str) -> list[str]:
    """One absolute folder per line (blank lines and # comments skipped), checked like the
    sandbox checks them; errors name the line."""
    folders: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        folder = line.strip()
        if not folder or folder.startswith("#"):
            continue
        try:
            folders.extend(check_path_prefix([folder]))
        except SandboxError as exc:
            raise EnvironmentChangeError(f"Line {number}: {exc}") from exc
    try:
        return list(check_path_prefix(folders))
    except SandboxError as exc:
        raise EnvironmentChangeError(str(exc)) from exc


def parse_variables(text: str) -> dict[str, str]:
    """`NAME=value` lines (blank lines and # comments skipped) to a dict; errors name the line."""
    variables: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if "=" not in line:
            raise EnvironmentChangeError(f"Line {number}: write NAME=value.")
        name, _, value = line.partition("=")
        name = variable_name_check(name)
        if name in variables:
            raise EnvironmentChangeError(f"Line {number}: {name} is set twice.")
        variables[name] = value.strip()
    return variables


def environment_for(repository: Repository) -> Environment:
    environment, _ = Environment.objects.get_or_create(repository=repository)
    return environment


@dataclass
class EnvironmentChange:
    """What an admin submitted; every field already parsed (strings of lists are validated here)."""

    setup_script: str
    variables: dict[str, str]
    internet_policy: str
    allowed_domains: list[str]
    allowed_methods: list[str]
    domain_list_ids: list[int] = field(default_factory=list)
    setup_internet_policy: str = InternetPolicy.ON
    setup_allowed_domains: list[str] = field(default_factory=list)
    setup_domain_list_ids: list[int] = field(default_factory=list)
    cache_ttl_hours: int = 12
    image: str = SandboxImage.UNIVERSAL
    custom_image: str = ""
    maintenance_script: str = ""
    path_prefix: list[str] = field(default_factory=list)


def _list_names(environment: Environment, attr: str) -> list[str]:
    return sorted(getattr(environment, attr).values_list("name", flat=True))


@transaction.atomic
def environment_update(
    *, environment: Environment, actor: User, change: EnvironmentChange
) -> Environment:
    """Save an environment and audit what changed (variable names only, never their values).

    Raises EnvironmentChangeError (or repos.domains.DomainError) for unusable input; nothing is
    saved then.
    """
    environment = Environment.objects.select_for_update().get(pk=environment.pk)
    team = environment.repository.team
    for policy in (change.internet_policy, change.setup_internet_policy):
        if policy not in InternetPolicy.values:
            raise EnvironmentChangeError(f"Unknown internet policy {policy!r}.")
    if len(change.setup_script) > MAX_SETUP_SCRIPT:
        raise EnvironmentChangeError("The setup script is too long (100 kB at most).")
    if len(change.maintenance_script) > MAX_SETUP_SCRIPT:
        raise EnvironmentChangeError("The maintenance script is too long (100 kB at most).")
    if change.image not in SandboxImage.values:
        raise EnvironmentChangeError(f"Unknown sandbox image choice {change.image!r}.")
    custom_image = change.custom_image.strip() if change.image == SandboxImage.CUSTOM else ""
    try:
        image_for(change.image, custom_image)
        path_prefix = list(check_path_prefix(change.path_prefix))
    except SandboxError as exc:
        raise EnvironmentChangeError(str(exc)) from exc
    if not 0 <= change.cache_ttl_hours <= 24 * 30:
        raise EnvironmentChangeError("Cache expiry must be between 0 and 720 hours.")
    for name in change.variables:
        variable_name_check(name)
    allowed = parse_domains(change.allowed_domains)
    setup_allowed = parse_domains(change.setup_allowed_domains)
    methods = parse_methods(change.allowed_methods)
    if change.internet_policy == InternetPolicy.ALLOWLIST and not methods:
        raise EnvironmentChangeError("Allow at least one HTTP method, or turn the internet off.")
    lists = list(DomainList.objects.filter(team=team, pk__in=change.domain_list_ids))
    setup_lists = list(DomainList.objects.filter(team=team, pk__in=change.setup_domain_list_ids))
    if len(lists) != len(set(change.domain_list_ids)) or len(setup_lists) != len(
        set(change.setup_domain_list_ids)
    ):
        raise EnvironmentChangeError("Choose domain lists of this team.")

    env_changes: dict[str, Any] = {}
    policy_changes: dict[str, Any] = {}
    if environment.setup_script != change.setup_script:
        env_changes["setup_script"] = "changed"
    if environment.maintenance_script != change.maintenance_script:
        env_changes["maintenance_script"] = "changed"
    old_image = [environment.image, environment.custom_image]
    if old_image != [change.image, custom_image]:
        env_changes["image"] = [old_image, [change.image, custom_image]]
    if list(environment.path_prefix or []) != path_prefix:
        env_changes["path_prefix"] = [list(environment.path_prefix or []), path_prefix]
    old_vars = environment.variables or {}
    added = sorted(set(change.variables) - set(old_vars))
    removed = sorted(set(old_vars) - set(change.variables))
    edited = sorted(
        n for n in change.variables if n in old_vars and old_vars[n] != change.variables[n]
    )
    if added or removed or edited:
        env_changes["variables"] = {"added": added, "removed": removed, "changed": edited}
    if environment.cache_ttl_hours != change.cache_ttl_hours:
        env_changes["cache_ttl_hours"] = [environment.cache_ttl_hours, change.cache_ttl_hours]
    for name, old, new in (
        ("internet_policy", environment.internet_policy, change.internet_policy),
        ("allowed_domains", environment.allowed_domains, allowed),
        ("allowed_methods", environment.allowed_methods, methods),
        ("domain_lists", _list_names(environment, "domain_lists"), sorted(x.name for x in lists)),
        ("setup_internet_policy", environment.setup_internet_policy, change.setup_internet_policy),
        ("setup_allowed_domains", environment.setup_allowed_domains, setup_allowed),
        (
            "setup_domain_lists",
            _list_names(environment, "setup_domain_lists"),
            sorted(x.name for x in setup_lists),
        ),
    ):
        if old != new:
            policy_changes[name] = [old, new]

    environment.setup_script = change.setup_script
    environment.maintenance_script = change.maintenance_script
    environment.image = change.image
    environment.custom_image = custom_image
    environment.path_prefix = path_prefix
    environment.variables = change.variables
    environment.internet_policy = change.internet_policy
    environment.allowed_domains = allowed
    environment.allowed_methods = methods
    environment.setup_internet_policy = change.setup_internet_policy
    environment.setup_allowed_domains = setup_allowed
    environment.cache_ttl_hours = change.cache_ttl_hours
    environment.save()
    environment.domain_lists.set(lists)
    environment.setup_domain_lists.set(setup_lists)
    for action, changes in (
        (actions.ENVIRONMENT_UPDATED, env_changes),
        (actions.POLICY_UPDATED, policy_changes),
    ):
        if changes:
            repository_audit(environment.repository, actor=actor, action=action, changes=changes)
    return environment


@transaction.atomic
def secret_set(
    *, environment: Environment, actor: User, name: str, value: str
) -> EnvironmentSecret:
    """Create or replace a secret. Its value is encrypted and never shown or logged again."""
    name = variable_name_check(name)
    if not value:
        raise EnvironmentChangeError("Enter the secret's value.")
    if len(value.encode()) > MAX_SECRET_BYTES:
        raise EnvironmentChangeError("A secret may be 64 kB at most.")
    if name in (environment.variables or {}):
        raise EnvironmentChangeError(f"{name} is already a variable; remove it there first.")
    secret = EnvironmentSecret.objects.filter(environment=environment, name=name).first()
    created = secret is None
    if secret is None:
        secret = EnvironmentSecret(environment=environment, name=name)
    secret.seal(value)
    secret.save()
    _secret_audit(environment, actor, actions.SECRET_SET, name, created=created)
    return secret


@transaction.atomic
def secret_delete(*, secret: EnvironmentSecret, actor: User) -> None:
    environment = secret.environment
    name = secret.name
    secret.delete()
    _secret_audit(environment, actor, actions.SECRET_DELETED, name)


def _secret_audit(
    environment: Environment, actor: User, action: str, name: str, **changes: object
) -> None:
    """Record a change to the secret `name` (never its value) in the team's audit log."""
    repository_audit(environment.repository, actor=actor, action=action,
                     changes={"name": name, **changes}, item=name)


@transaction.atomic
def cache_reset(*, environment: Environment, actor: User) -> Environment:
    """Make the next attempt build a fresh cache: bump the generation the cache key includes."""
    environment = Environment.objects.select_for_update().get(pk=environment.pk)
    environment.cache_generation += 1
    environment.cache_reset_at = timezone.now()
    environment.save(update_fields=["cache_generation", "cache_reset_at", "updated_at"])
    repository_audit(environment.repository, actor=actor, action=actions.CACHE_RESET,
                     changes={"cache_generation": environment.cache_generation})
    return environment


def _resolved(domains: list[str], lists: list[DomainList]) -> list[str]:
    merged = dict.fromkeys(domains)
    for domain_list in lists:
        merged.update(dict.fromkeys(domain_list.domains))
    return list(merged)


def _phase_policy(mode: str, domains: Iterable[str], lists: list[DomainList],
                  methods: Iterable[str]) -> dict[str, Any]:
    """One phase's internet policy as the snapshot keeps it (domains resolved from the lists)."""
    return {
        "mode": mode,
        "domains": _resolved(list(domains), lists) if mode == InternetPolicy.ALLOWLIST else [],
        "domain_lists": [d.name for d in lists],
        "methods": list(methods),
    }


def environment_snapshot(repository: Repository) -> dict[str, Any]:
    """The environment as plain data, for an attempt to keep for its whole life.

    Holds the image choice, the setup and maintenance scripts, variables, PATH prefix, secret
    *names*, both phases' resolved internet policies and the cache key parts. Never a secret's
    value: the setup phase fetches those with `secret_values_for_setup` at the moment it runs.
    """
    environment = environment_for(repository)
    lists = list(environment.domain_lists.all())
    setup_lists = list(environment.setup_domain_lists.all())
    return {
        "version": SNAPSHOT_VERSION,
        "taken_at": timezone.now().isoformat(),
        "repository": repository.full_name,
        "repository_identity": repository_identity(repository),
        "environment_id": environment.pk,
        "image": {"choice": environment.image, "custom": environment.custom_image},
        "setup_script": environment.setup_script,
        "maintenance_script": environment.maintenance_script,
        "variables": dict(environment.variables or {}),
        "path_prefix": list(environment.path_prefix or []),
        "secret_names": sorted(environment.secrets.values_list("name", flat=True)),
        "agent_policy": _phase_policy(environment.internet_policy, environment.allowed_domains,
                                      lists, environment.allowed_methods),
        # Setup installs dependencies: every method is allowed to the allowed domains.
        "setup_policy": _phase_policy(environment.setup_internet_policy,
                                      environment.setup_allowed_domains, setup_lists,
                                      HTTP_METHODS),
        "cache": {
            "generation": environment.cache_generation,
            "ttl_hours": environment.cache_ttl_hours,
            "reset_at": environment.cache_reset_at.isoformat()
            if environment.cache_reset_at
            else None,
        },
    }


def secret_values_for_setup(environment_id: int, names: list[str]) -> dict[str, str]:
    """Clear secret values for the setup phase only (the worker calls this; nothing else may).

    Only the names the attempt's snapshot listed are returned, so a secret added later is not
    given to an attempt that started before.
    """
    secrets = EnvironmentSecret.objects.filter(environment_id=environment_id, name__in=names)
    return {secret.name: secret.reveal() for secret in secrets}


def secret_versions(environment_id: int, names: list[str]) -> dict[str, str]:
    """For the warm-image key: each listed secret's *version*, a hash of its name and when it
    was last set (never its value), so changing a secret makes setup run again with it."""
    secrets = EnvironmentSecret.objects.filter(environment_id=environment_id, name__in=names)
    return {
        secret.name: hashlib.sha256(
            f"{secret.name}\0{secret.pk}\0{secret.updated_at.isoformat()}".encode()
        ).hexdigest()[:16]
        for secret in secrets
    }

"""The environment an attempt (or a setup run) runs with, as typed plain data.

`repos.environments.environment_snapshot` writes it as JSON when an attempt is claimed and the
attempt row keeps it, so later edits to the environment do not reach a running attempt. The
worker reads it back with `EnvironmentSnapshot.from_json` and never by string keys; snapshots
written before a field existed get that field's default. Never holds a secret's value: only
names (the worker fetches the values for the setup phase alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from tasks.sandbox.base import NetworkPolicy

DEFAULT_METHODS = ("GET", "HEAD", "OPTIONS")
PolicyMode = Literal["off", "allowlist", "on"]


@dataclass(frozen=True)
class PhasePolicy:
    """One phase's internet policy, with the named domain lists it was resolved from."""

    mode: PolicyMode = "off"
    domains: tuple[str, ...] = ()
    domain_lists: tuple[str, ...] = ()
    methods: tuple[str, ...] = DEFAULT_METHODS

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> PhasePolicy:
        data = data or {}
        return cls(
            mode=cast(PolicyMode, data.get("mode", "off")),
            domains=tuple(data.get("domains", ())),
            domain_lists=tuple(data.get("domain_lists", ())),
            methods=tuple(data.get("methods", DEFAULT_METHODS)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "domains": list(self.domains),
            "domain_lists": list(self.domain_lists),
            "methods": list(self.methods),
        }

    def network(self) -> NetworkPolicy:
        """What the sandbox enforces for this phase."""
        return NetworkPolicy(mode=self.mode, domains=self.domains, methods=self.methods)


@dataclass(frozen=True)
class EnvironmentSnapshot:
    environment_id: int
    repository: str  # owner/name, as shown
    # `<row id>:<provider>:<owner/name>`; "" in snapshots taken before it was recorded.
    repository_identity: str = ""
    image_choice: str = "universal"  # "universal", "slim" or "custom"
    custom_image: str = ""
    setup_script: str = ""
    maintenance_script: str = ""
    variables: Mapping[str, str] = field(default_factory=dict)
    path_prefix: tuple[str, ...] = ()
    secret_names: tuple[str, ...] = ()
    agent_policy: PhasePolicy = PhasePolicy()
    setup_policy: PhasePolicy = PhasePolicy(mode="on")
    cache_generation: int = 0
    cache_ttl_hours: float | None = None
    cache_reset_at: str | None = None
    version: int = 1
    taken_at: str = ""

    @property
    def warm_identity(self) -> str:
        """Whose warm image this environment makes: the repository's identity (older
        snapshots name the repository by its full name)."""
        return self.repository_identity or self.repository

    @property
    def cache_scope(self) -> str:
        return f"environment-{self.environment_id}"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EnvironmentSnapshot:
        """Read a stored snapshot; fields it predates get their defaults."""
        image = data.get("image") or {}
        cache = data.get("cache") or {}
        hours = cache.get("ttl_hours")
        return cls(
            environment_id=int(data["environment_id"]),
            repository=str(data.get("repository", "")),
            repository_identity=str(data.get("repository_identity") or ""),
            image_choice=str(image.get("choice") or "universal"),
            custom_image=str(image.get("custom") or ""),
            setup_script=str(data.get("setup_script", "")),
            maintenance_script=str(data.get("maintenance_script", "")),
            variables={str(k): str(v) for k, v in (data.get("variables") or {}).items()},
            path_prefix=tuple(data.get("path_prefix") or ()),
            secret_names=tuple(data.get("secret_names") or ()),
            agent_policy=PhasePolicy.from_json(data.get("agent_policy")),
            setup_policy=PhasePolicy.from_json(data.get("setup_policy") or {"mode": "on"}),
            cache_generation=int(cache.get("generation", 0)),
            cache_ttl_hours=float(hours) if hours is not None else None,
            cache_reset_at=cache.get("reset_at"),
            version=int(data.get("version", 1)),
            taken_at=str(data.get("taken_at", "")),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON the attempt row keeps (the shape `from_json` reads)."""
        return {
            "version": self.version,
            "taken_at": self.taken_at,
            "repository": self.repository,
            "repository_identity": self.repository_identity,
            "environment_id": self.environment_id,
            "image": {"choice": self.image_choice, "custom": self.custom_image},
            "setup_script": self.setup_script,
            "maintenance_script": self.maintenance_script,
            "variables": dict(self.variables),
            "path_prefix": list(self.path_prefix),
            "secret_names": list(self.secret_names),
            "agent_policy": self.agent_policy.to_json(),
            "setup_policy": self.setup_policy.to_json(),
            "cache": {
                "generation": self.cache_generation,
                "ttl_hours": self.cache_ttl_hours,
                "reset_at": self.cache_reset_at,
            },
        }

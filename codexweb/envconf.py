"""Small typed readers for settings that come from the environment (12-factor)."""

from __future__ import annotations

import ipaddress
import os


class ConfigError(ValueError):
    """A setting in the environment has a value we cannot use."""


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def envint(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value}")
    return value


def envfloat(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from exc


def envlist(name: str, default: str = "") -> list[str]:
    """A comma-separated list; blanks are dropped."""
    raw = os.environ.get(name, default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def envnetworks(name: str) -> tuple[str, ...]:
    """A comma-separated list of IP networks ("10.20.0.0/16, fd00::/8"; a bare address is one
    host), normalized. Empty (or the old "false") is none; the old "true" is refused, since it
    would silently open every private network."""
    items = envlist(name)
    if [i.lower() for i in items] in ([], ["false"], ["0"], ["no"], ["off"]):
        return ()
    if [i.lower() for i in items] in (["true"], ["1"], ["yes"], ["on"]):
        raise ConfigError(
            f"{name} no longer takes true: list the networks sandboxes may reach, "
            "such as 10.20.0.0/16 (loopback is 127.0.0.0/8,::1/128)"
        )
    out = []
    for item in items:
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError as exc:
            raise ConfigError(
                f"{name} must list networks such as 10.20.0.0/16 or fd00::/8, "
                f"separated by commas; {item!r} is not one"
            ) from exc
    return tuple(out)


def envports(name: str, default: str) -> tuple[int, ...]:
    """A comma-separated list of TCP ports (1-65535)."""
    out = []
    for item in envlist(name, default):
        if not item.isdigit() or not 0 < int(item) < 65536:
            raise ConfigError(f"{name} must list ports between 1 and 65535; {item!r} is not one")
        out.append(int(item))
    return tuple(dict.fromkeys(out))

"""The simple tunables: one table (`tunables.toml`) of the settings that are just an environment
variable with a default, read with the typed readers of `envconf.py`. The settings module binds
them in one statement; `.env.example` is checked against the table, and `codexweb settings`
lists them with their current values and where each came from."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from codexweb.envconf import ConfigError, envbool, envfloat, envint, envstr

TABLE = Path(__file__).with_name("tunables.toml")

Value = bool | int | float | str
_KEYS = {"default", "doc", "minimum", "secret"}


@dataclass(frozen=True)
class Tunable:
    """One environment variable, the Django setting of the same name."""

    name: str
    section: str
    default: Value
    doc: str
    minimum: int | None = None
    secret: bool = False

    def read(self) -> Value:
        """The environment's value, or the default; a value we cannot use raises ConfigError
        naming the variable (the same sentences as `envconf`'s readers)."""
        if isinstance(self.default, bool):
            return envbool(self.name, self.default)
        if isinstance(self.default, int):
            return envint(self.name, self.default, minimum=self.minimum)
        if isinstance(self.default, float):
            return envfloat(self.name, self.default)
        return envstr(self.name, self.default)

    def is_set(self) -> bool:
        """Whether the environment gives the value (the readers take a blank number or flag as
        unset; a blank text is a value)."""
        raw = os.environ.get(self.name)
        if raw is None:
            return False
        return isinstance(self.default, str) or raw.strip() != ""


@cache
def tunables(path: Path = TABLE) -> tuple[Tunable, ...]:
    """The table, checked, in its order; a malformed entry raises ConfigError naming it."""
    with path.open("rb") as handle:
        sections = tomllib.load(handle)
    out: list[Tunable] = []
    for section, entries in sections.items():
        for name, entry in entries.items():
            out.append(_entry(path.name, section, name, entry))
    names = [t.name for t in out]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"{path.name}: {', '.join(repeated)} stands in more than one section")
    return tuple(out)


def _entry(file: str, section: str, name: str, entry: dict[str, Any]) -> Tunable:
    where = f"{file}: {name}"
    unknown = set(entry) - _KEYS
    if unknown:
        raise ConfigError(f"{where} has unknown keys {sorted(unknown)}; it takes {sorted(_KEYS)}")
    if not isinstance(entry.get("default"), bool | int | float | str) or not entry.get("doc"):
        raise ConfigError(f"{where} needs a default (flag, number or text) and a doc")
    tunable = Tunable(name=name, section=section, default=entry["default"], doc=entry["doc"],
                      minimum=entry.get("minimum"), secret=bool(entry.get("secret", False)))
    if tunable.minimum is not None:
        if isinstance(tunable.default, bool) or not isinstance(tunable.default, int):
            raise ConfigError(f"{where}: only a whole number takes a minimum")
        if tunable.default < tunable.minimum:
            raise ConfigError(f"{where}: the default is below the minimum")
    return tunable


def tunable_values() -> dict[str, Value]:
    """Every tunable's value by setting name, for `settings.py` to bind."""
    return {t.name: t.read() for t in tunables()}


def tunables_report() -> tuple[list[str], list[str]]:
    """`codexweb settings`: a line per tunable, by section (NAME=value, where the value came
    from, what it does; a secret's value hidden), and the problems: each value the app would
    refuse to start with, as the sentence it would say."""
    lines: list[str] = []
    problems: list[str] = []
    rows: list[tuple[str, str, str]] = []
    section = ""
    for tunable in tunables():
        if tunable.section != section:
            section = tunable.section
            rows.append((f"[{section}]", "", ""))
        try:
            shown = _shown(tunable.read())
        except ConfigError as exc:
            problems.append(str(exc))
            shown, source = os.environ.get(tunable.name, ""), "environment: refused"
        else:
            default = _shown(tunable.default) or "empty"
            source = f"environment; default {default}" if tunable.is_set() else "default"
        if tunable.secret and shown:
            shown = "(hidden)"
        rows.append((f"{tunable.name}={shown}", f"({source})", tunable.doc))
    width = max(len(row[0]) for row in rows if row[1])
    for setting, source, doc in rows:
        lines.append(f"{setting:<{width}}  {source}  {doc}".rstrip() if source else setting)
    return lines, problems


def _shown(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

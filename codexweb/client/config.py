"""Where the CLI keeps the server URL and token: ~/.config/codexweb/config.json, mode 0600.

CODEXWEB_CONFIG overrides the path; CODEXWEB_URL / CODEXWEB_TOKEN override the saved values
(for CI, where nothing is saved).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


class ConfigError(Exception):
    """No usable configuration; the message says how to fix it."""


@dataclass(frozen=True)
class ClientConfig:
    server: str
    token: str


def config_path() -> Path:
    explicit = os.environ.get("CODEXWEB_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "codexweb" / "config.json"


def config_save(config: ClientConfig, path: Path | None = None) -> Path:
    """Write the config atomically, readable by its owner only (the token is a credential)."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"server": config.server, "token": config.token}, handle, indent=2)
        handle.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def config_load(path: Path | None = None) -> ClientConfig:
    path = path or config_path()
    saved: dict[str, str] = {}
    if path.exists():
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"Cannot read {path}: {exc}. Run `codexweb login` again.") from exc
    server = os.environ.get("CODEXWEB_URL") or saved.get("server", "")
    token = os.environ.get("CODEXWEB_TOKEN") or saved.get("token", "")
    if not server or not token:
        raise ConfigError(
            "Not logged in: run `codexweb login` (or set CODEXWEB_URL and CODEXWEB_TOKEN)."
        )
    return ClientConfig(server=server.rstrip("/"), token=token)

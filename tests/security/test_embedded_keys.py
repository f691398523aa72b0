"""An embedded install (`make run`, no SECRET_KEY) makes its own random keys and keeps them in
var/; nothing is signed or encrypted with the public default any more, and secrets an older
install stored under the old derived key still decrypt. Production mode generates nothing."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import InvalidToken
from django.core import signing

from codexweb.crypto import _derived
from codexweb.embedded_keys import (
    FIELD_KEY_FILE,
    LEGACY_DEFAULT_SECRET_KEY,
    LEGACY_MARKER_FILE,
    SECRET_KEY_FILE,
)
from tests.support.services import ROOT

pytestmark = pytest.mark.timeout(120)

# Runs in a fresh process with the real settings module, as `codexweb serve`'s children do.
PROBE = """
import json, sys, django
from django.conf import settings
django.setup()
from django.core import signing
from codexweb import crypto
request = json.loads(sys.argv[1])
result = {"secret_key": settings.SECRET_KEY, "encrypted": crypto.encrypt("ghp_the_token")}
if "decrypt" in request:
    result["decrypted"] = crypto.decrypt(request["decrypt"])
if "unsign" in request:
    try:
        result["unsigned"] = signing.loads(request["unsign"])
    except signing.BadSignature:
        result["unsigned"] = None
print(json.dumps(result))
"""


def probe(var_dir: Path, **request: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DATABASE_URL",
                        "CODEXWEB_PRODUCTION", "DEBUG"}}
    env.update(DJANGO_SETTINGS_MODULE="codexweb.settings", CODEXWEB_VAR_DIR=str(var_dir),
               PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", PROBE, json.dumps(request)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def embedded_process(var_dir: Path, **request: str) -> dict:
    result = probe(var_dir, **request)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_new_install_has_its_own_keys_kept_private_in_var(tmp_path: Path):
    first = embedded_process(tmp_path / "var")
    again = embedded_process(tmp_path / "var")
    other = embedded_process(tmp_path / "other-install")

    assert first["secret_key"] != LEGACY_DEFAULT_SECRET_KEY and len(first["secret_key"]) >= 50
    assert again["secret_key"] == first["secret_key"]  # kept across restarts
    assert other["secret_key"] != first["secret_key"]  # not derived from anything shared
    for name in (SECRET_KEY_FILE, FIELD_KEY_FILE):
        mode = stat.S_IMODE((tmp_path / "var" / name).stat().st_mode)
        assert mode == 0o600, f"{name} is readable by others ({oct(mode)})"
    assert not (tmp_path / "var" / LEGACY_MARKER_FILE).exists()


def test_the_public_default_key_opens_nothing_of_a_new_install(tmp_path: Path):
    """The attack: whoever knows the public default (everyone) forges a signed value and tries
    to decrypt a stolen copy of the stored secrets."""
    forged = signing.dumps({"user": "admin"}, key=LEGACY_DEFAULT_SECRET_KEY)
    answer = embedded_process(tmp_path / "var", unsign=forged)

    assert answer["unsigned"] is None
    with pytest.raises(InvalidToken):
        _derived(LEGACY_DEFAULT_SECRET_KEY).decrypt(answer["encrypted"].encode())


def test_an_existing_install_still_decrypts_what_it_stored_under_the_old_key(tmp_path: Path):
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    (var_dir / "codexweb.sqlite3").write_bytes(b"")  # the install's database was there before
    stored = _derived(LEGACY_DEFAULT_SECRET_KEY).encrypt(b"ghp_stored_long_ago").decode()

    answer = embedded_process(var_dir, decrypt=stored)

    assert answer["decrypted"] == "ghp_stored_long_ago"
    assert (var_dir / LEGACY_MARKER_FILE).exists()
    # What it stores from now on is under its own key.
    with pytest.raises(InvalidToken):
        _derived(LEGACY_DEFAULT_SECRET_KEY).decrypt(answer["encrypted"].encode())
    # And a new install never accepts the old key.
    fresh = probe(tmp_path / "fresh", decrypt=stored)
    assert fresh.returncode != 0 and "cannot be decrypted with the current key" in fresh.stderr


def test_production_mode_generates_no_key_and_refuses_to_start_without_one(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    env.update(DJANGO_SETTINGS_MODULE="codexweb.settings", CODEXWEB_VAR_DIR=str(tmp_path),
               CODEXWEB_PRODUCTION="true", ALLOWED_HOSTS="codex.example.test")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
    assert not (tmp_path / SECRET_KEY_FILE).exists()
    assert not (tmp_path / FIELD_KEY_FILE).exists()

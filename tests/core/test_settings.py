"""Configuration comes from the environment; production mode refuses insecure settings."""

from __future__ import annotations

import pytest

from codexweb import envconf
from tests.support.manage import manage
from tests.support.services import ROOT

GOOD_SECRET = "k" * 20 + "Zq7-3mP0x!9sLw2vBn6yTr8eUa1cDf4" + "h" * 10


PRODUCTION = {
    "CODEXWEB_PRODUCTION": "true", "SECRET_KEY": GOOD_SECRET, "ALLOWED_HOSTS": "codex.example.test"
}


def test_production_mode_passes_check_deploy(tmp_path):
    static = {"STATIC_ROOT": str(tmp_path / "static"), **PRODUCTION}
    collected = manage("collectstatic", "--noinput", **static)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    result = manage("check", "--deploy", "--fail-level", "WARNING", **static)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_says_when_static_files_were_not_collected_for_this_code(tmp_path):
    """Production serves STATIC_ROOT only: an upgrade without collectstatic kept the old
    JavaScript (or 404s for a new file) with nothing in any log."""
    static = {"STATIC_ROOT": str(tmp_path / "static"), **PRODUCTION}
    never = manage("check", **static)
    assert never.returncode == 0, never.stderr  # a warning: `migrate` must still run
    assert "codexweb.W001" in never.stderr and "collectstatic" in never.stderr

    assert manage("collectstatic", "--noinput", **static).returncode == 0
    assert "codexweb.W001" not in manage("check", **static).stderr

    old = tmp_path / "static" / "js" / "live" / "page.js"
    old.write_text(old.read_text() + "\n// the release before\n")
    (tmp_path / "static" / "css" / "app.css").unlink()
    stale = manage("check", **static)
    assert "2 static files" in stale.stderr and "css/app.css, js/live/page.js" in stale.stderr

    development = manage("check", STATIC_ROOT=str(tmp_path / "static"))  # files found in place
    assert "codexweb.W001" not in development.stderr


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"ALLOWED_HOSTS": "codex.example.test"}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": GOOD_SECRET}, "ALLOWED_HOSTS must list"),
        ({"SECRET_KEY": GOOD_SECRET, "ALLOWED_HOSTS": "*"}, "must not contain '*'"),
        (
            {"SECRET_KEY": GOOD_SECRET, "ALLOWED_HOSTS": "codex.example.test", "DEBUG": "true"},
            "DEBUG must be off",
        ),
    ],
)
def test_production_mode_refuses_insecure_settings(env, complaint):
    result = manage("check", CODEXWEB_PRODUCTION="true", **env)
    assert result.returncode != 0
    assert "Refusing to start in production mode" in result.stderr
    assert complaint in result.stderr


def test_bad_boolean_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "maybe")
    with pytest.raises(envconf.ConfigError, match="SOME_FLAG must be true or false"):
        envconf.envbool("SOME_FLAG")


def test_int_bounds(monkeypatch):
    monkeypatch.setenv("SOME_NUMBER", "3")
    assert envconf.envint("SOME_NUMBER", 1, minimum=1) == 3
    monkeypatch.setenv("SOME_NUMBER", "0")
    with pytest.raises(envconf.ConfigError, match="at least 1"):
        envconf.envint("SOME_NUMBER", 1, minimum=1)
    monkeypatch.setenv("SOME_NUMBER", "ten")
    with pytest.raises(envconf.ConfigError, match="whole number"):
        envconf.envint("SOME_NUMBER", 1)


def test_every_setting_read_from_the_environment_is_documented():
    """Each env var the settings read has a line in .env.example."""
    import re

    from codexweb.tunables import tunables

    settings_src = (ROOT / "codexweb" / "settings.py").read_text()
    read = set(re.findall(r'env[a-z]+\(\s*"([A-Z0-9_]+)"', settings_src))
    read |= {t.name for t in tunables()}  # the table's (tests/core/test_tunables.py: defaults too)
    documented = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line
    }
    assert read - documented == set()


def test_private_networks_are_a_list_and_never_a_blanket_yes(monkeypatch):
    monkeypatch.delenv("SOME_NETWORKS", raising=False)
    assert envconf.envnetworks("SOME_NETWORKS") == ()
    monkeypatch.setenv("SOME_NETWORKS", "false")  # the old default in .env files
    assert envconf.envnetworks("SOME_NETWORKS") == ()
    monkeypatch.setenv("SOME_NETWORKS", "10.20.0.0/16, fd00::/8,192.0.2.7")
    assert envconf.envnetworks("SOME_NETWORKS") == ("10.20.0.0/16", "fd00::/8", "192.0.2.7/32")
    monkeypatch.setenv("SOME_NETWORKS", "true")
    with pytest.raises(envconf.ConfigError, match="no longer takes true: list the networks"):
        envconf.envnetworks("SOME_NETWORKS")
    monkeypatch.setenv("SOME_NETWORKS", "10.0.0.0/8,intranet")
    with pytest.raises(envconf.ConfigError, match="'intranet' is not one"):
        envconf.envnetworks("SOME_NETWORKS")


def test_ports_are_checked(monkeypatch):
    monkeypatch.delenv("SOME_PORTS", raising=False)
    assert envconf.envports("SOME_PORTS", "80,443") == (80, 443)
    monkeypatch.setenv("SOME_PORTS", "443, 8443")
    assert envconf.envports("SOME_PORTS", "80,443") == (443, 8443)
    for bad in ("0", "65536", "https"):
        monkeypatch.setenv("SOME_PORTS", bad)
        with pytest.raises(envconf.ConfigError, match="ports between 1 and 65535"):
            envconf.envports("SOME_PORTS", "80,443")


def test_the_worker_pool_is_threads_unless_told_otherwise_and_a_typo_is_refused():
    from django.conf import settings

    assert settings.CELERY_WORKER_POOL == "threads"  # what `celery worker` runs without --pool
    result = manage("check", WORKER_POOL="forks")
    assert result.returncode != 0
    assert "WORKER_POOL must be threads or prefork, not 'forks'." in result.stderr


@pytest.mark.parametrize(
    ("argv", "pool"),
    [
        (["celery", "-A", "codexweb", "worker", "--pool", "prefork"], "prefork"),
        (["celery", "-A", "codexweb", "worker", "--pool=prefork", "-c", "2"], "prefork"),
        (["celery", "-A", "codexweb", "worker", "-Pprefork"], "prefork"),
        (["celery", "-A", "codexweb", "worker", "-P", "solo"], "solo"),
        (["celery", "-A", "codexweb", "worker", "-c", "2"], None),
        (["celery", "-A", "codexweb", "beat"], None),
    ],
)
def test_the_pool_named_on_the_worker_command_line_is_read_in_each_spelling(argv, pool):
    from codexweb.celery import pool_named_on_command_line

    assert pool_named_on_command_line(argv) == pool

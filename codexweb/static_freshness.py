"""Whether STATIC_ROOT holds the static files of the code that runs.

In production the pages' JavaScript and CSS are served from STATIC_ROOT only (WhiteNoise
without finders, settings.WHITENOISE_USE_FINDERS): an upgrade without `manage.py
collectstatic` keeps serving the old files, and a file the new code added is a 404, so the live
page breaks with nothing in any log. `manage.py check` says so (a warning: it must not stop
`migrate`, which an upgrade runs first), and so does the web process when it starts."""

from __future__ import annotations

import filecmp
import logging
from pathlib import Path

from django.conf import settings
from django.core import checks

logger = logging.getLogger(__name__)

# collectstatic's default ignore patterns.
IGNORED = ["CVS", ".*", "*~"]
EXAMPLES = 3


def stale_static_files() -> list[str]:
    """The static files (as `collectstatic` would collect them: the first finder's copy of a
    name wins) that STATIC_ROOT lacks or holds with other content; [] when they are all there,
    or when the files are found in place (development: nothing is collected)."""
    if settings.WHITENOISE_USE_FINDERS:
        return []
    from django.contrib.staticfiles import finders

    root = Path(settings.STATIC_ROOT)
    seen: set[str] = set()
    stale: list[str] = []
    for finder in finders.get_finders():
        for path, storage in finder.list(IGNORED):
            prefix = getattr(storage, "prefix", None)
            name = f"{prefix}/{path}" if prefix else path
            if name in seen:
                continue
            seen.add(name)
            collected = root / name
            if not collected.is_file() or not filecmp.cmp(
                storage.path(path), collected, shallow=False
            ):
                stale.append(name)
    return sorted(stale)


def stale_message(stale: list[str]) -> str:
    examples = ", ".join(stale[:EXAMPLES]) + (", …" if len(stale) > EXAMPLES else "")
    return (
        f"{len(stale)} static file{'s' if len(stale) != 1 else ''} in STATIC_ROOT "
        f"({settings.STATIC_ROOT}) are missing or differ from this code's ({examples}): pages "
        "would run the old JavaScript and CSS, or miss files. Run `manage.py collectstatic "
        "--noinput` after every upgrade."
    )


@checks.register(checks.Tags.staticfiles)
def check_static_collected(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """`manage.py check`: a warning when STATIC_ROOT does not match the code's static files."""
    stale = stale_static_files()
    if not stale:
        return []
    return [checks.Warning(stale_message(stale), id="codexweb.W001")]


def warn_if_static_stale() -> None:
    """At the web process's start: log the same as an error (never raise: the API and the
    websockets still work, and an operator reads the log)."""
    try:
        stale = stale_static_files()
    except OSError:
        logger.warning("could not compare the static files with STATIC_ROOT", exc_info=True)
        return
    if stale:
        logger.error("%s", stale_message(stale))

"""Every page says scripts come only from this origin (no inline script, no eval), so markup
injected into a page cannot run; the admin keeps that rule too."""

from __future__ import annotations

import pytest

PAGES = ["/", "/accounts/login/", "/repositories/", "/admin/login/"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_allow_scripts_only_from_this_origin(client, db, path):
    response = client.get(path)
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in directives["script-src"]
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"


def test_no_template_carries_inline_handlers_or_scripts():
    """The policy refuses them, so they would silently do nothing: none may be written."""
    import re
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "templates"
    inline = re.compile(r"\son[a-z]+\s*=|<script(?![^>]*\bsrc=)|javascript:|\sstyle\s*=", re.I)
    found = [f"{path.relative_to(templates)}: {match.group(0).strip()}"
             for path in sorted(templates.rglob("*.html"))
             for match in inline.finditer(path.read_text())]
    assert found == []

"""The live pages' scripts are ES modules loaded without a build step: nothing but the browser
checks that an import points at a real file, that the server labels the files as JavaScript
(a module served under another type is refused), or that no template runs inline script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "static" / "js"
IMPORT = re.compile(r'^\s*import\s[^;]*?from\s+"([^"]+)";', re.MULTILINE | re.DOTALL)
MODULES = sorted([*SCRIPTS.glob("live/*.js"), SCRIPTS / "team-live.js", SCRIPTS / "history.js"])


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(SCRIPTS)))
def test_every_import_names_an_existing_module_and_export(module):
    for match in IMPORT.finditer(module.read_text()):
        target = (module.parent / match.group(1)).resolve()
        assert match.group(1).startswith("./"), f"{module.name}: use relative imports"
        assert target.is_file(), f"{module.name} imports {match.group(1)}, which does not exist"
        names = re.search(r"import\s*\{([^}]*)\}", match.group(0))
        for name in (n.strip() for n in (names.group(1) if names else "").split(",") if n.strip()):
            exported = re.search(
                rf"^export (?:async )?(?:function|class|const|let) {name}\b",
                target.read_text(),
                re.MULTILINE,
            )
            assert exported, f"{module.name} imports {name} from {target.name}, which lacks it"


@pytest.mark.parametrize("path", ["js/live/page.js", "js/live/socket.js", "js/team-live.js"])
def test_modules_are_served_as_javascript(db, path):
    response = Client().get(f"/static/{path}")
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == "text/javascript"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_live_templates_run_no_inline_script():
    """Only `src=` scripts and JSON data blocks: a script-src policy without 'unsafe-inline'
    keeps these pages working."""
    templates = ROOT / "templates"
    for template in [templates / "base.html", *(templates / "tasks").glob("*.html")]:
        for tag in re.findall(r"<script\b[^>]*>", template.read_text()):
            assert "src=" in tag or 'type="application/json"' in tag, f"{template.name}: {tag}"

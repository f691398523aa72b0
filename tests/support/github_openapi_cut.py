"""Cut `github_openapi_extra.json` out of GitHub's full REST description (run by hand).

    python -m tests.support.github_openapi_cut path/to/api.github.com.json > \
        tests/support/github_openapi_extra.json

The input is `generated/api.github.com.json` of npm package `@octokit/openapi` (the redistribution
of github/rest-api-description that `../shared/github/` was cut from too). The output holds the
operations in `OPERATIONS` and every component they reach, so all `$ref`s stay local; examples and
the `x-octokit` extension are dropped, nothing else is changed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OPERATIONS: tuple[tuple[str, str], ...] = (
    ("get", "/repos/{owner}/{repo}/pulls"),
    ("patch", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("post", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("get", "/repos/{owner}/{repo}/compare/{basehead}"),
    ("get", "/repos/{owner}/{repo}/branches/{branch}"),
)
DROPPED_KEYS = {"examples", "x-octokit"}


def _strip(node: Any, *, names: bool = False) -> Any:
    """`node` without DROPPED_KEYS; `names`: the keys are property names, kept whatever they are."""
    if isinstance(node, dict):
        return {k: _strip(v, names=k == "properties" and not names) for k, v in node.items()
                if names or k not in DROPPED_KEYS}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def cut(full: dict[str, Any], version: str) -> dict[str, Any]:
    """The sub-document for OPERATIONS, with the closure of the components they reference."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path in OPERATIONS:
        paths.setdefault(path, {})[method] = _strip(full["paths"][path][method])
    components: dict[str, dict[str, Any]] = {}
    pending = _refs(paths)
    while pending:
        ref = pending.pop()
        _, section, name = ref.removeprefix("#/").split("/", 2)
        if name in components.get(section, {}):
            continue
        value = _strip(full["components"][section][name])
        components.setdefault(section, {})[name] = value
        pending += _refs(value)
    return {
        "openapi": full["openapi"],
        "info": {
            "title": "GitHub REST API (operations the codexweb GitHub double added for issue 15)",
            "version": "1.1.4",
            "license": {"name": "MIT", "url": "https://spdx.org/licenses/MIT"},
            "x-source": (
                "repository github/rest-api-description, descriptions/api.github.com/"
                "api.github.com.json (main branch), as redistributed in npm package "
                f"@octokit/openapi {version} (generated/api.github.com.json); cut by "
                "tests/support/github_openapi_cut.py: examples and x-octokit removed, "
                "nothing else changed."
            ),
        },
        "servers": [{"url": "https://api.github.com"}],
        "paths": paths,
        "components": {section: dict(sorted(items.items()))
                       for section, items in sorted(components.items())},
    }


def main(argv: list[str]) -> int:
    full = json.loads(Path(argv[1]).read_text())
    version = argv[2] if len(argv) > 2 else str(full.get("info", {}).get("version", "?"))
    json.dump(cut(full, version), sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""The sandbox image's build copies its recipe (sandbox/*) into a build context or a chroot.
The recipe folder also holds sources built on the host (sandbox/helper/): copying them with
a plain `cp folder/*` failed every build on a fresh machine, where no cached image hid it.
Checked here without building (minutes): the script's own copy function, run alone."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "sandbox-image.sh"
RECIPE = ROOT / "sandbox"


def copy_recipe_function() -> str:
    found = re.search(r"^copy_recipe\(\) \{.*\}$", SCRIPT.read_text(), re.MULTILINE)
    assert found, "scripts/sandbox-image.sh has no one-line copy_recipe function"
    return found.group(0)


def test_every_file_the_dockerfile_copies_reaches_the_build_and_no_folder_breaks_it(tmp_path):
    subprocess.run(
        ["bash", "-euo", "pipefail", "-c", f'{copy_recipe_function()}\ncopy_recipe "$1"',
         "copy", str(tmp_path)],
        env={"RECIPE_DIR": str(RECIPE), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    )
    copied = {p.name for p in tmp_path.iterdir()}
    wanted = {
        name
        for line in (RECIPE / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ") and "downloads/" not in line
        for name in line.split()[1:-1]
    }
    assert wanted and wanted <= copied
    assert all((tmp_path / name).is_file() for name in copied)
    assert (RECIPE / "helper").is_dir() and "helper" not in copied


def test_no_other_copy_of_the_recipe_folder_uses_a_glob():
    """Both build paths (docker build, debootstrap) go through copy_recipe."""
    assert 'cp "$RECIPE_DIR"/*' not in SCRIPT.read_text()
    assert SCRIPT.read_text().count("copy_recipe \"") == 2

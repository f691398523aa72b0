"""`--image PATH` for the CLI: files read and sent base64 in the JSON body (the server decides
whether each is an image it accepts)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any


class ImageFileError(ValueError):
    """A file named with --image cannot be read; the message is for the person."""


def image_payloads(paths: list[str]) -> list[dict[str, Any]]:
    """`[{"name", "data"}]` for the API's `images`; raises ImageFileError naming the file."""
    out = []
    for raw in paths:
        path = Path(raw).expanduser()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ImageFileError(f"Cannot read image {raw}: {exc.strerror or exc}.") from exc
        out.append({"name": path.name, "data": base64.b64encode(data).decode("ascii")})
    return out

"""Small real images (and things that only look like images) for the image-input tests."""

from __future__ import annotations

import base64
import struct
import zlib


def png(width: int = 3, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 30),
        *, text: str = "") -> bytes:
    """A real, decodable RGB PNG of one colour; `text` goes in a tEXt chunk (a marker to look
    for)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + (chunk(b"tEXt", b"Comment\x00" + text.encode()) if text else b"")
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


# 1×1 images in the other three formats, as browsers and encoders write them.
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
WEBP_LOSSLESS = base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")


def jpeg(width: int = 640, height: int = 480) -> bytes:
    """The segments a JPEG decoder reads first: SOI, an APP0 (JFIF) and a baseline SOF0."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def webp_lossy(width: int = 320, height: int = 200) -> bytes:
    """A RIFF/WEBP file whose VP8 key frame header gives `width`×`height`."""
    frame = b"\x10\x02\x00" + b"\x9d\x01\x2a" + struct.pack("<HH", width, height) + b"\x00" * 8
    body = b"WEBP" + b"VP8 " + struct.pack("<I", len(frame)) + frame
    return b"RIFF" + struct.pack("<I", len(body)) + body


HTML_AS_PNG = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.domain)</script></svg>"
)
# Starts like a GIF, goes on as an HTML page: a decoder says GIF, a sniffing browser might say HTML.
GIF_HTML_POLYGLOT = b"GIF89a\x0a\x00\x0a\x00\x00\x00\x00<html><script>alert(1)</script></html>"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")

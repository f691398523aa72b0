"""What an uploaded file really is, read from its bytes: PNG, JPEG, WebP or GIF, and its size.

Pure (no Django): the type is decided by the file's signature and a header that must parse to
sane dimensions, never by its name or the type the browser claimed. Anything else, an SVG, an
HTML page named `.png`, a truncated header, is refused with `ImageRejected`.

Formats: PNG (https://www.w3.org/TR/png/#5PNG-file-signature, IHDR), GIF (GIF87a/GIF89a logical
screen descriptor), WebP (RIFF container; VP8, VP8L and VP8X headers, RFC 9649) and JPEG (the
first SOFn segment, ITU T.81 B.2.2).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAX_SIDE = 16384  # pixels: larger than any screenshot, smaller than a decompression bomb

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (baseline, progressive, lossless...); C4, C8 and CC are not frames.
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE,
                       0xCF})
ACCEPTED = "PNG, JPEG, WebP or GIF"


class ImageRejected(ValueError):
    """The bytes are not an image codexweb accepts; the message is for the person."""


@dataclass(frozen=True)
class ImageInfo:
    media_type: str  # one of EXTENSIONS
    width: int
    height: int

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.media_type]


def decode_image(data: bytes) -> ImageInfo:
    """The type and dimensions of `data`; raises ImageRejected for anything else."""
    if data.startswith(_PNG_SIGNATURE):
        info = _png(data)
    elif data[:6] in (b"GIF87a", b"GIF89a"):
        info = _gif(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        info = _webp(data)
    elif data[:3] == b"\xff\xd8\xff":
        info = _jpeg(data)
    else:
        raise ImageRejected(f"is not a {ACCEPTED} image")
    if not (1 <= info.width <= MAX_SIDE and 1 <= info.height <= MAX_SIDE):
        raise ImageRejected(
            f"has unusable dimensions ({info.width}×{info.height}; at most {MAX_SIDE} a side)"
        )
    return info


def _png(data: bytes) -> ImageInfo:
    # The first chunk must be IHDR, 13 bytes long: width and height are its first 8.
    if len(data) < 33 or data[8:16] != b"\x00\x00\x00\x0dIHDR":
        raise ImageRejected("is a damaged PNG (no image header)")
    width, height = struct.unpack(">II", data[16:24])
    return ImageInfo("image/png", width, height)


def _gif(data: bytes) -> ImageInfo:
    if len(data) < 13:
        raise ImageRejected("is a damaged GIF (the header is cut short)")
    width, height = struct.unpack("<HH", data[6:10])
    return ImageInfo("image/gif", width, height)


def _webp(data: bytes) -> ImageInfo:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return ImageInfo("image/webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return ImageInfo("image/webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return ImageInfo("image/webp", width, height)
    raise ImageRejected("is a damaged WebP (no VP8, VP8L or VP8X header)")


def _jpeg(data: bytes) -> ImageInfo:
    """Walk the segments after SOI to the first start-of-frame; bounded by the data's length."""
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            break
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if length < 2:
            break
        if marker in _JPEG_SOF:
            if at + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return ImageInfo("image/jpeg", width, height)
        if marker == 0xDA:  # start of scan before any frame header
            break
        at += 2 + length
    raise ImageRejected("is a damaged JPEG (no frame header)")

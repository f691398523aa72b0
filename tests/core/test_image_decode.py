"""tasks/images/decode.py: what a file is comes from its bytes, never its name (issue 14.2)."""

from __future__ import annotations

import struct

import pytest

from tasks.images.decode import MAX_SIDE, ImageRejected, decode_image
from tests.support import images


@pytest.mark.parametrize(
    "data,media_type,size",
    [
        (images.png(3, 2), "image/png", (3, 2)),
        (images.jpeg(640, 480), "image/jpeg", (640, 480)),
        (images.webp_lossy(320, 200), "image/webp", (320, 200)),
        (images.WEBP_LOSSLESS, "image/webp", (1, 1)),
        (images.GIF, "image/gif", (1, 1)),
    ],
)
def test_each_accepted_format_is_recognised_with_its_dimensions(data, media_type, size):
    info = decode_image(data)
    assert (info.media_type, (info.width, info.height)) == (media_type, size)


def test_a_jpeg_frame_header_after_other_segments_is_found():
    data = images.jpeg(33, 44)
    comment = b"\xff\xfe" + struct.pack(">H", 7) + b"hello"  # a COM segment before SOF0
    shifted = data[:20] + comment + data[20:]
    assert (decode_image(shifted).width, decode_image(shifted).height) == (33, 44)


@pytest.mark.parametrize(
    "data,why",
    [
        (images.HTML_AS_PNG, "is not a PNG, JPEG, WebP or GIF"),
        (images.SVG, "is not a PNG, JPEG, WebP or GIF"),
        (b"", "is not a PNG, JPEG, WebP or GIF"),
        (images.png()[:20], "damaged PNG"),
        (images.jpeg()[:4], "damaged JPEG"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8Xshort", "damaged WebP"),
        (b"GIF89a\x01", "damaged GIF"),
    ],
)
def test_anything_else_is_refused_with_a_reason(data, why):
    with pytest.raises(ImageRejected, match=why):
        decode_image(data)


def test_absurd_dimensions_are_refused():
    with pytest.raises(ImageRejected, match="unusable dimensions"):
        decode_image(images.png(MAX_SIDE + 1, 1))
    with pytest.raises(ImageRejected, match="unusable dimensions"):
        decode_image(images.jpeg(0, 10))

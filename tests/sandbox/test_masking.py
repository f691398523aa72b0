"""Secret masking of streamed output: whole lines only, so a secret cut across chunks is still
masked, however the output was cut."""

from __future__ import annotations

import pytest

from tasks.sandbox.base import OutputChunk
from tasks.sandbox.masking import LineMasker, MaskedOutput, mask

SECRET = "hunter2-s3cr3t"


def masked(pieces: list[str], secrets=(SECRET,), **kwargs) -> list[str]:
    out: list[str] = []
    masker = LineMasker(secrets, out.append, **kwargs)
    for piece in pieces:
        masker.feed(piece)
    masker.close()
    return out


def test_mask_replaces_every_value_longest_first():
    assert mask("a hunter2-s3cr3t b hunter2", ["hunter2", SECRET]) == "a *** b ***"
    assert mask("nothing here", [""]) == "nothing here"


def test_a_secret_split_across_chunks_is_masked():
    out = masked(["token=hunt", "er2-s3", "cr3t done\nnext"])
    assert "".join(out) == "token=*** done\nnext"
    assert all("hunt" not in piece and "s3cr3t" not in piece for piece in out)


@pytest.mark.parametrize("cut", range(1, 30))
def test_every_cut_of_the_output_is_masked(cut):
    text = f"start {SECRET} middle {SECRET}\nend {SECRET}"
    out = masked([text[:cut], text[cut:]])
    assert "".join(out) == "start *** middle ***\nend ***"
    for piece in out:
        for i in range(4, len(SECRET) + 1):  # no piece holds even a part of the secret
            assert SECRET[:i] not in piece and SECRET[-i:] not in piece


def test_only_complete_lines_are_emitted_until_close():
    out: list[str] = []
    masker = LineMasker([SECRET], out.append)
    masker.feed("one\ntwo")
    assert out == ["one\n"]
    masker.feed(" more\r")
    assert out == ["one\n", "two more\r"]
    masker.feed("tail")
    masker.close()
    masker.close()  # idempotent
    assert out == ["one\n", "two more\r", "tail"]


def test_a_long_line_is_emitted_without_cutting_a_secret():
    pieces = ["x" * 50, SECRET[:5], SECRET[5:], "y" * 50, SECRET[:3]]
    out = masked(pieces, max_pending=20)
    assert len(out) > 2  # emitted before the line ended
    assert "".join(out) == "x" * 50 + "***" + "y" * 50 + SECRET[:3]
    for piece in out[:-1]:
        assert "hun" not in piece


def test_a_secret_with_line_breaks_is_masked_across_chunks():
    key = "-----BEGIN KEY-----\nabcdef123456\n-----END KEY-----"
    text = f"key:\n{key}\nafter\n"
    for cut in range(1, len(text)):
        out = masked([text[:cut], text[cut:]], secrets=(key,))
        assert "".join(out) == "key:\n***\nafter\n", cut
        assert all("abcdef" not in piece for piece in out)


def test_masked_output_keeps_streams_apart_and_passes_chunks_on():
    chunks: list[OutputChunk] = []
    output = MaskedOutput([SECRET], chunks.append)
    output(OutputChunk("stdout", "a hunter", 0.1))
    output(OutputChunk("stderr", "warning\n", 0.2))
    output(OutputChunk("stdout", "2-s3cr3t\n", 0.3))
    output.close()
    assert [(c.stream, c.text) for c in chunks] == [
        ("stderr", "warning\n"),
        ("stdout", "a ***\n"),
    ]
    assert chunks[-1].at == 0.3

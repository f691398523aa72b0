"""Streamed output is gathered per stream for a moment (tasks/sandbox/output.py): fewer events,
the same text in the same order. A window of a minute makes "within the window" certain here;
the sandbox uses 75 ms."""

from __future__ import annotations

from tasks.sandbox.base import OutputChunk
from tasks.sandbox.output import MAX_HELD_LINE, OutputCollector


def collector(chunks: list[OutputChunk]) -> OutputCollector:
    return OutputCollector(max_bytes=1000, on_output=chunks.append, started=0, batch_seconds=60)


def test_pieces_of_one_stream_become_one_chunk_and_a_stream_change_delivers_first():
    chunks: list[OutputChunk] = []
    out = collector(chunks)
    for n in range(50):
        out.feed("stdout", f"test_{n} PASSED\n".encode())
    assert chunks == []  # still gathering
    out.feed("stderr", b"warning\n")
    out.feed("stdout", b"done\n")
    out.finish()
    assert [(c.stream, c.text.count("\n")) for c in chunks] == [
        ("stdout", 50), ("stderr", 1), ("stdout", 1)
    ]
    # Replaying the chunks gives exactly the output, in arrival order.
    assert "".join(c.text for c in chunks) == out.text()


def test_a_note_delivers_what_was_gathered_before_it():
    chunks: list[OutputChunk] = []
    out = collector(chunks)
    out.feed("stdout", b"partial line")
    out.note("the command was killed after its time limit of 1 seconds")
    assert [c.text for c in chunks] == [
        "partial line", "\n[the command was killed after its time limit of 1 seconds]\n"
    ]


def test_gathered_output_waits_at_most_its_window():
    chunks: list[OutputChunk] = []
    out = collector(chunks)
    out.feed("stdout", b"x")
    waiting = out.flush_in()
    assert waiting is not None and 0 < waiting <= 60
    out.flush_due()  # not due yet
    assert chunks == []
    out.batch_seconds = 0
    out.flush_due()
    assert [c.text for c in chunks] == ["x"] and out.flush_in() is None


def test_without_a_window_every_piece_streams_at_once():
    chunks: list[OutputChunk] = []
    out = OutputCollector(max_bytes=100, on_output=chunks.append, started=0)
    out.feed("stdout", b"a")
    out.feed("stdout", b"b")
    assert [c.text for c in chunks] == ["a", "b"]


def test_a_line_split_across_writes_stays_whole_while_the_other_stream_goes_ahead():
    # What `curl …; echo rc=$?` gave once: curl's message in two writes to stderr, the shell's
    # echo on stdout read between them.
    chunks: list[OutputChunk] = []
    out = collector(chunks)
    out.feed("stderr", b"curl: (56) CONNECT tun")
    out.feed("stdout", b"rc=56\n")
    out.feed("stderr", b"nel failed, response 403\n")
    out.finish()
    assert out.text().splitlines() == ["rc=56", "curl: (56) CONNECT tunnel failed, response 403"]
    assert [(c.stream, c.text) for c in chunks] == [
        ("stdout", "rc=56\n"), ("stderr", "curl: (56) CONNECT tunnel failed, response 403\n")
    ]


def test_an_unfinished_line_goes_out_when_its_window_passes():
    chunks: list[OutputChunk] = []
    out = collector(chunks)
    out.feed("stdout", b"line one\nPassword: ")
    out.flush_due()
    assert chunks == []  # the window has not passed
    out.batch_seconds = 0.0  # it has now
    assert out.flush_in() == 0.0
    out.flush_due()
    assert "".join(c.text for c in chunks) == "line one\nPassword: "
    assert out.flush_in() is None


def test_a_line_without_end_is_not_held_past_its_size_limit():
    chunks: list[OutputChunk] = []
    out = collector(chunks)
    out.max_bytes = 10**6
    out.feed("stdout", b"x" * (MAX_HELD_LINE + 1))
    out.flush()  # the gathered chunk, not a held line
    assert [len(c.text) for c in chunks] == [MAX_HELD_LINE + 1]


def test_progress_redrawn_with_carriage_returns_streams_per_redraw():
    chunks: list[OutputChunk] = []
    out = collector(chunks)
    out.feed("stderr", b"10%\r20%\r3")
    out.feed("stdout", b"ok\n")
    out.finish()
    assert [(c.stream, c.text) for c in chunks] == [
        ("stderr", "10%\r20%\r"), ("stdout", "ok\n"), ("stderr", "3")
    ]
    assert "".join(c.text for c in chunks) == out.text()

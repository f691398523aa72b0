"""The host side of the helper's protocol (tasks/sandbox/helper.py) against bytes a broken or
hostile container could send: over a real socket pair standing in for the exec's stream (the
engine's 8-byte stream headers, then the helper's frames). Every byte is untrusted: bounded
frames, unknown ids ignored, a malformed frame ends the channel and every command on it."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator

import pytest

from tasks.sandbox.helper import MAX_FRAME, HelperChannel, HelperError
from tasks.sandbox.output import OutputCollector


def engine(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(data)) + data


def frame(kind: bytes, run_id: int, payload: bytes = b"") -> bytes:
    return kind + struct.pack(">II", run_id, len(payload)) + payload


@pytest.fixture
def pair() -> Iterator[tuple[HelperChannel, socket.socket]]:
    host, container = socket.socketpair()
    channel = HelperChannel(host, user="sandbox")
    container.sendall(engine(1, frame(b"H", 0, b"codexweb-helper 1 42")))
    assert channel._hello.wait(5) and channel.pid == 42
    yield channel, container
    channel.close()
    container.close()


def collector() -> OutputCollector:
    return OutputCollector(max_bytes=10_000, on_output=None, started=time.monotonic())


def request(container: socket.socket) -> tuple[bytes, int, bytes]:
    head = container.recv(9, socket.MSG_WAITALL)
    size = struct.unpack(">I", head[5:9])[0]
    return head[:1], struct.unpack(">I", head[1:5])[0], container.recv(size, socket.MSG_WAITALL)


def test_a_run_sends_folder_command_and_environment_and_gets_output_and_status(pair) -> None:  # noqa: ANN001
    channel, container = pair
    run = channel.run("echo hi", cwd="/workspace", environment={"A": "1"}, collector=collector())
    kind, run_id, payload = request(container)
    assert (kind, payload) == (b"R", b"/workspace\0echo hi\0A=1\0")
    # Split across engine frames and mixed with the helper's stderr: reassembled.
    stream = (
        frame(b"O", run_id, b"hi\n") + frame(b"E", run_id, b"oops\n") + frame(b"X", run_id, b"3")
    )
    container.sendall(engine(1, stream[:5]) + engine(2, b"noise") + engine(1, stream[5:]))
    assert run.pump(5)
    assert run.exit_code() == 3
    assert run.collector.text() == "hi\noops\n"


def test_frames_for_unknown_ids_are_ignored(pair) -> None:  # noqa: ANN001
    channel, container = pair
    run = channel.run("true", cwd="/", environment={}, collector=collector())
    _, run_id, _ = request(container)
    container.sendall(
        engine(
            1, frame(b"X", run_id + 7, b"0") + frame(b"O", 999, b"x") + frame(b"X", run_id, b"0")
        )
    )
    assert run.pump(5) and run.exit_code() == 0
    assert run.collector.text() == ""
    assert not channel.dead


@pytest.mark.parametrize(
    "bad",
    [
        engine(1, frame(b"Q", 1, b"")),  # unknown type
        engine(1, frame(b"X", 1, b"1e9")),  # not a status
        engine(1, frame(b"H", 0, b"codexweb-helper 1 7")),  # a second hello
        engine(1, b"O" + struct.pack(">II", 1, MAX_FRAME + 1)),  # too big
        struct.pack(">BxxxL", 1, MAX_FRAME + 1),  # an engine frame too big
        engine(3, b"x"),  # an engine stream that does not exist
    ],
)
def test_a_malformed_frame_ends_the_channel_and_its_commands(pair, bad: bytes) -> None:  # noqa: ANN001
    channel, container = pair
    run = channel.run("sleep 100", cwd="/", environment={}, collector=collector())
    request(container)
    container.sendall(bad)
    assert run.pump(5)
    assert run.lost and run.exit_code() is None
    assert "broke the protocol" in channel.dead or "malformed" in channel.dead
    with pytest.raises(HelperError):
        channel.run("true", cwd="/", environment={}, collector=collector())


def test_eof_ends_the_channel(pair) -> None:  # noqa: ANN001
    channel, container = pair
    run = channel.run("sleep 100", cwd="/", environment={}, collector=collector())
    container.close()
    assert run.pump(5) and run.lost
    assert channel.dead


def test_output_before_the_hello_is_refused() -> None:
    host, container = socket.socketpair()
    try:
        container.sendall(engine(1, frame(b"X", 1, b"0")))
        channel = HelperChannel(host, user="sandbox")
        assert channel._hello.wait(5)  # set when the channel dies, too
        assert "output before the hello" in channel.dead
    finally:
        container.close()
        host.close()


def test_a_nul_in_the_command_is_not_sent(pair) -> None:  # noqa: ANN001
    channel, _ = pair
    with pytest.raises(HelperError):
        channel.run("echo a\0b", cwd="/", environment={}, collector=collector())
    assert not channel.dead


def test_a_refused_command_says_why_and_leaves_the_channel_up(pair) -> None:  # noqa: ANN001
    channel, container = pair
    run = channel.run("true", cwd="/", environment={}, collector=collector())
    _, run_id, _ = request(container)
    container.sendall(engine(1, frame(b"F", run_id, b"too many commands at once")))
    assert run.pump(5)
    assert run.refused == "too many commands at once" and run.exit_code() is None
    assert not run.lost and not channel.dead

"""The setup script's output streams to `on_setup_output` while it runs, and the masker keeps
a secret that reaches the host in two chunks from ever being passed on."""

from __future__ import annotations

import pytest

from tasks.sandbox.base import NetworkPolicy, OutputChunk
from tasks.sandbox.masking import MaskedOutput

pytestmark = pytest.mark.docker

SECRET = "tok-1a2b3c4d5e6f-never-shown"


def test_setup_output_streams_live_and_a_split_secret_is_masked(make_sandbox):
    raw: list[OutputChunk] = []
    shown: list[OutputChunk] = []
    masked = MaskedOutput([SECRET], shown.append)

    def on_output(chunk: OutputChunk) -> None:
        raw.append(chunk)
        masked(chunk)

    sandbox = make_sandbox(
        start=False,
        setup_script=(
            "echo first\n"
            "printf 'key=%s' \"${API_TOKEN:0:10}\"; sleep 0.5; "
            "printf '%s;\\n' \"${API_TOKEN:10}\"\n"
            "echo last\n"
        ),
        secrets={"API_TOKEN": SECRET},
        setup_network=NetworkPolicy(mode="off"),
    )
    sandbox.on_setup_output = on_output
    sandbox.start()
    masked.close()

    # Really cut: no raw chunk held the whole secret, yet together they did.
    assert not any(SECRET in c.text for c in raw)
    assert SECRET in "".join(c.text for c in raw)
    assert "".join(c.text for c in shown) == "first\nkey=***;\nlast\n"
    assert all(SECRET[:6] not in c.text and SECRET[-6:] not in c.text for c in shown)
    # The chunks arrived while the script ran, not at its end.
    assert raw[0].at < raw[-1].at - 0.4
    assert sandbox.setup_result is not None and sandbox.setup_result.exit_code == 0

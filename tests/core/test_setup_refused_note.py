"""The setup log's line about refused requests (repos/setup_runs/flow.py `refused_note`): one
reason per host, a count, and the advice that fits the reason."""

from __future__ import annotations

from repos.setup_runs.flow import refused_note
from tasks.sandbox.base import EgressRecord

DOC_ADDRESS = ("pypi.org resolves to 203.0.113.80, a documentation address; sandboxes reach "
               "public addresses only")


def _refused(host: str, reason: str) -> EgressRecord:
    return EgressRecord(at=0.0, host=host, port=443, method="CONNECT", allowed=False,
                        reason=reason)


def test_an_address_refusal_points_at_the_operator_setting():
    note = refused_note([_refused("pypi.org", DOC_ADDRESS)] * 3)
    assert note.startswith("The egress proxy refused 3 requests during setup: pypi.org:443 (")
    assert DOC_ADDRESS in note and note.count("pypi.org:443") == 1
    assert "SANDBOX_EGRESS_ALLOW_PRIVATE" in note


def test_an_allowlist_refusal_points_at_the_environment_page_and_long_lists_are_cut():
    records = [_refused(f"h{n}.example.com", f"domain 'h{n}.example.com' is not on this "
                        "repository's allowlist") for n in range(7)]
    note = refused_note(records)
    assert "h4.example.com:443" in note and "h5.example.com" not in note
    assert "; and 2 more." in note
    assert "setup phase's internet access on this page" in note
    assert "SANDBOX_EGRESS_ALLOW_PRIVATE" not in note

"""Say why a setup script failed when TLS verification was the cause, and which setting fixes it.

The honest source is the egress proxy: it records, per host, upstream certificates the sandbox
would not trust (`EgressProxy.tls_failures`). Tools word the same failure in a dozen ways, often
without the host, so their output is only a fallback for when the proxy saw nothing (a setup
phase with the internet off, or a server reached another way).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tasks.sandbox.base import TlsFailure

# Certificate-verification failures as pip/requests, Python, curl, git, npm/Node, Java and Go
# print them.
OUTPUT_SIGNS = (
    "CERTIFICATE_VERIFY_FAILED",
    "certificate verify failed",
    "SSL certificate problem",
    "server certificate verification failed",
    "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    "SELF_SIGNED_CERT_IN_CHAIN",
    "self-signed certificate in certificate chain",
    "unable to verify the first certificate",
    "PKIX path building failed",
    "certificate signed by unknown authority",
)
_UNKNOWN_AUTHORITY = ("local issuer", "self-signed", "self signed", "unknown ca")


def setup_tls_hint(
    failures: Sequence[TlsFailure],
    output: str,
    *,
    extra_ca_set: bool,
    hosts_reached: Sequence[str] = (),
) -> str:
    """A paragraph for the person when the failed setup's trouble was TLS verification, "" when
    nothing points there. Names the hosts (from the proxy's records, else the hosts the setup
    reached) and the setting: SANDBOX_EXTRA_CA_FILE."""
    if failures:
        hosts = _unique(f.host for f in failures)
        reason = _describe(failures[0].error)
        what = f"TLS verification of {_join(hosts)} failed: {reason}."
    elif any(sign.lower() in output.lower() for sign in OUTPUT_SIGNS):
        what = "A TLS certificate check failed during setup"
        hosts = _unique(hosts_reached)
        what += f" (hosts reached: {_join(hosts)})." if hosts else "."
    else:
        return ""
    if extra_ca_set:
        advice = (
            "SANDBOX_EXTRA_CA_FILE is set, but its certificates do not verify this one: check "
            "that it holds the CA your network's proxy signs with (the root, and any "
            "intermediate)."
        )
    else:
        advice = (
            "If your network intercepts TLS, set SANDBOX_EXTRA_CA_FILE to your company's CA "
            "certificate (PEM); sandboxes and the egress proxy then trust it."
        )
    return f"{what} {advice}"


def _describe(error: str) -> str:
    lowered = error.lower()
    if any(sign in lowered for sign in _UNKNOWN_AUTHORITY):
        return f"the certificate is signed by an unknown authority ({error})"
    return error


def _unique(hosts: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for host in hosts:
        if host and host not in seen:
            seen.append(host)
    return seen


def _join(hosts: list[str]) -> str:
    shown = ", ".join(hosts[:3])
    return shown + (f" and {len(hosts) - 3} more" if len(hosts) > 3 else "")

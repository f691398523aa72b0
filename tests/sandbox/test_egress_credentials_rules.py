"""The pure part of egress credentials (tasks/sandbox/egress/credentials.py): which requests get
which header, what is stripped from responses, and that nothing prints a value."""

from __future__ import annotations

import base64
import stat

import pytest

from tasks.sandbox.egress import credentials
from tasks.sandbox.egress.credentials import CredentialError, EgressCredential, header_for
from tasks.sandbox.egress.policy import EgressRules, domain_matches, same_host
from tasks.sandbox.egress.proxy import EgressProxy

TOKEN = "tok-9f8e7d6c5b4a"


def bearer(domain: str = "api.example.org", prefix: str = "/", **kw: object) -> EgressCredential:
    header, value = header_for("bearer", value=TOKEN)
    return EgressCredential(id=1, domain=domain, header=header, value=value, path_prefix=prefix,
                            **kw)  # type: ignore[arg-type]


def matching(creds, host="api.example.org", *, https=True, path="/", host_header=None):
    return credentials.for_request(
        creds, host=host, host_header=host_header, https=https, path=path,
        matches=domain_matches, same_host=same_host,
    )


def test_the_three_kinds_make_their_header():
    assert header_for("header", name="X-Api-Key", value="k1") == ("X-Api-Key", "k1")
    assert header_for("bearer", value=" t ") == ("Authorization", "Bearer t")
    name, value = header_for("basic", user="ci", password="pw:1")
    assert name == "Authorization"
    assert base64.b64decode(value.split()[1]) == b"ci:pw:1"


@pytest.mark.parametrize(
    "kind, parts, message",
    [
        ("header", {"name": "Host", "value": "x"}, "cannot carry a credential"),
        ("header", {"name": "X Key", "value": "x"}, "not a usable header name"),
        ("header", {"name": "X-Key", "value": "a\r\nInjected: 1"}, "line breaks"),
        ("bearer", {"value": ""}, "Enter the bearer token"),
        ("basic", {"user": "a:b", "password": "p"}, "cannot contain ':'"),
        ("digest", {"value": "x"}, "Unknown credential kind"),
    ],
)
def test_unusable_credentials_say_why(kind, parts, message):
    with pytest.raises(CredentialError, match=message):
        header_for(kind, **parts)


def test_exact_wildcard_scheme_path_and_host_header():
    exact, wild = bearer(), bearer("*.example.org")
    assert matching([exact]) == [exact]
    assert matching([exact], host="API.example.org.") == [exact]
    assert matching([exact], host="evil-api.example.org") == []
    assert matching([wild], host="pkgs.example.org") == [wild]
    assert matching([wild], host="example.org") == []  # a wildcard is not the apex
    assert matching([exact], https=False) == []  # HTTPS only...
    allow_http = bearer(allow_http=True)
    assert matching([allow_http], https=False) == [allow_http]  # ...unless allowed
    simple = bearer(prefix="/simple/")
    assert matching([simple], path="/simple/pkg/?x=1") == [simple]
    assert matching([simple], path="/simple") == [simple]
    assert matching([simple], path="/simplex/") == []
    assert matching([simple], path="/upload") == []
    # A server hosting several names routes by Host: another name gets nothing.
    assert matching([exact], host_header="attacker.example.net") == []
    assert matching([exact], host_header="api.example.org:443") == [exact]


def test_one_credential_per_header_the_most_specific():
    wild, exact, deeper = bearer("*.example.org"), bearer(), bearer(prefix="/v2")
    assert matching([wild, exact]) == [exact]
    assert matching([exact, deeper], path="/v2/x") == [deeper]


def test_secret_parts_cover_token_and_basic_password():
    assert TOKEN in bearer().secret_parts()
    name, value = header_for("basic", user="ci", password="s3cret-pass")
    parts = EgressCredential(id=2, domain="a.example", header=name, value=value).secret_parts()
    assert "s3cret-pass" in parts and "ci:s3cret-pass" in parts and value in parts


def test_redact_replaces_every_form():
    forms = credentials.redact_forms([bearer()])
    data, found = credentials.redact(f'{{"auth": "Bearer {TOKEN}", "t": "{TOKEN}"}}'.encode(),
                                     forms)
    assert found and TOKEN.encode() not in data
    assert credentials.REDACTED.encode() in data


def test_no_repr_shows_a_value():
    credential = bearer()
    assert TOKEN not in repr(credential)
    assert "api.example.org" in repr(credential)


def test_the_proxy_gets_a_file_only_its_user_reads_and_it_is_gone_after(tmp_path):
    path = tmp_path / "creds.json"
    credentials.write_file(path, [bearer()])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert credentials.read_file(path)[0].value == f"Bearer {TOKEN}"
    with pytest.raises(FileExistsError):  # never rewritten in place
        credentials.write_file(path, [bearer()])


def test_the_proxy_removes_its_credentials_file_when_it_stops(tmp_path):
    proxy = EgressProxy(rules=EgressRules(mode="on"), workdir=tmp_path, mitmdump="/nonexistent",
                        credentials=(bearer(),))
    proxy.credentials_path.write_text("x")
    proxy.stop()
    assert not proxy.credentials_path.exists()

"""A GET that asks the server to treat it as a POST (`X-HTTP-Method-Override: POST` and its
cousins) is a POST to Rails, Laravel, Symfony or ASP.NET: under a read-only allowlist the egress
proxy refuses it, over plain HTTP and inside intercepted HTTPS, and says why."""

from __future__ import annotations

import ssl

import pytest

from tasks.sandbox.egress.policy import METHOD_OVERRIDE_HEADERS
from tests.support.egress_client import (
    ALLOWED,
    LOOPBACK,
    REFUSED,
    open_tunnel,
    read_all,
    send_request,
)

READ_ONLY = {
    "mode": "allowlist",
    "domains": (ALLOWED,),
    "methods": ("GET", "HEAD", "OPTIONS"),
    "allow_private": LOOPBACK,
}


@pytest.fixture(scope="module")
def plain_proxy(egress_proxy, web_target):
    return egress_proxy(**READ_ONLY, resolve={ALLOWED: web_target.address})


@pytest.fixture(scope="module")
def intercepting_proxy(egress_proxy, web_target):
    return egress_proxy(
        **READ_ONLY,
        resolve={ALLOWED: web_target.address, f"{ALLOWED}:443": web_target.tls_address},
        intercept_tls=True,
        upstream_ca=web_target.cert_file,
    )


def get(path: str, header: str, value: str) -> bytes:
    return (
        f"GET http://{ALLOWED}{path} HTTP/1.1\r\nHost: {ALLOWED}\r\n{header}: {value}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()


@pytest.mark.parametrize("header", METHOD_OVERRIDE_HEADERS)
def test_a_get_overridden_to_post_is_refused_over_http(plain_proxy, web_target, header):
    before = len(web_target.requests)
    reply = send_request(plain_proxy, get("/upload", header, "POST"))
    assert reply.startswith("HTTP/1.1 403"), reply
    assert (
        f"{REFUSED} GET http://{ALLOWED}/upload: the {header} header asks for method POST, "
        "which is not allowed (allowed: GET, HEAD, OPTIONS)." in reply
    )
    assert web_target.requests[before:] == []
    assert any(
        r.method == "GET" and not r.allowed and header in r.reason for r in plain_proxy.records()
    )


@pytest.mark.parametrize(
    ("header", "value"), [("x-http-method-override", "post"), ("X-HTTP-Method", " Delete ")]
)
def test_any_spelling_of_the_header_or_method_is_caught(plain_proxy, web_target, header, value):
    before = len(web_target.requests)
    reply = send_request(plain_proxy, get("/x", header, value))
    assert reply.startswith("HTTP/1.1 403"), reply
    assert f"asks for method {value.strip().upper()}" in reply
    assert web_target.requests[before:] == []


def test_an_override_naming_an_allowed_method_passes(plain_proxy, web_target):
    reply = send_request(plain_proxy, get("/head", "X-HTTP-Method-Override", "HEAD"))
    assert reply.startswith("HTTP/1.0 200"), reply
    assert ("GET", ALLOWED, "/head") in web_target.requests


def test_a_get_overridden_to_post_is_refused_inside_intercepted_https(
    intercepting_proxy,
    web_target,
):
    sock, head = open_tunnel(intercepting_proxy, ALLOWED, 443)
    assert head.startswith("HTTP/1.1 200"), head
    context = ssl.create_default_context(cadata=intercepting_proxy.ca_certificate().decode())
    before = len(web_target.tls_requests)
    with context.wrap_socket(sock, server_hostname=ALLOWED) as tls:
        tls.sendall(
            f"GET /upload HTTP/1.1\r\nHost: {ALLOWED}\r\nX-HTTP-Method-Override: POST\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        reply = read_all(tls).decode(errors="replace")
    assert reply.startswith("HTTP/1.1 403"), reply
    assert (
        f"{REFUSED} GET https://{ALLOWED}/upload: the X-HTTP-Method-Override header asks for "
        "method POST, which is not allowed (allowed: GET, HEAD, OPTIONS)." in reply
    )
    assert web_target.tls_requests[before:] == []

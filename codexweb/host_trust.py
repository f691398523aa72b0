"""TLS trust for the host's own calls to GitHub / GitHub Enterprise: the host's certificate store.

git trusts the host's store (/etc/ssl/certs, where `update-ca-certificates` puts a company CA);
Python's HTTP clients trust only certifi's public roots unless told otherwise, so a GHES whose
certificate a company CA signed would pass git and fail the REST client and the sign-in. These
give the REST client (httpx), the sign-in's token exchange (requests) and git one answer: the
host's store, or the one OpenSSL's SSL_CERT_FILE / SSL_CERT_DIR name, plus certifi's roots for a
host without a store.
"""

from __future__ import annotations

import functools
import os
import ssl

import certifi


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """For httpx (githubkit, the token refresh): the host's store and certifi's roots."""
    context = ssl.create_default_context()  # OpenSSL's default paths, or SSL_CERT_FILE/DIR
    context.load_verify_locations(cafile=certifi.where())
    return context


def ca_bundle() -> str | bool:
    """For requests (social-auth's token exchange): REQUESTS_CA_BUNDLE, else the host's bundle
    file (or its folder of hashed certificates); True (certifi) on a host that has neither."""
    paths = ssl.get_default_verify_paths()  # each None when it does not exist
    return os.environ.get("REQUESTS_CA_BUNDLE") or paths.cafile or paths.capath or True


def git_env() -> dict[str, str]:
    """For git, whose environment is cleaned (repos/git/mirror.py): the store SSL_CERT_FILE /
    SSL_CERT_DIR name, when set; otherwise git reads the host's store by itself."""
    env = {}
    if os.environ.get("SSL_CERT_FILE"):
        env["GIT_SSL_CAINFO"] = os.environ["SSL_CERT_FILE"]
    if os.environ.get("SSL_CERT_DIR"):
        env["GIT_SSL_CAPATH"] = os.environ["SSL_CERT_DIR"]
    return env

"""API test helpers: a token per person, and a client whose every response is checked against
the served OpenAPI description (so the description cannot drift from the code)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from codexweb.api.openapi import openapi_document
from codexweb.api.tokens import api_token_create
from tests.support.cli_runner import world  # noqa: F401
from tests.support.live_app import live_app  # noqa: F401


def _text(data: bytes) -> str:
    return data.decode()


def openapi_spec() -> OpenAPI:
    """The served description, able to read the plain-text bodies (patches, event streams)."""
    config = Config(
        extra_media_type_deserializers={"text/x-diff": _text, "text/event-stream": _text}
    )
    return OpenAPI.from_dict(openapi_document(), config=config)


class Api:
    """Calls /api/v1/ with a bearer token and validates each response against the OpenAPI doc."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.token = token
        self.spec = openapi_spec()

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict | None = None,
        raw: bytes | None = None,
        headers: dict | None = None,
        validate: bool = True,
    ):
        extra = dict(headers or {})
        if self.token is not None:
            extra.setdefault("Authorization", f"Bearer {self.token}")
        url = "/api/v1" + path + (("?" + urlencode(params)) if params else "")
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        response = self.client.generic(
            method, url, data, content_type="application/json", headers=extra
        )
        if validate and response.status_code != 405:
            content = (
                b"".join(response.streaming_content) if response.streaming else response.content
            )
            request = MockRequest(
                "http://testserver",
                method,
                "/api/v1" + path,
                args=params or {},
                headers=extra,
                data=data,
            )
            mock = MockResponse(
                content,
                status_code=response.status_code,
                headers=dict(response.headers),
                content_type=response["Content-Type"].split(";")[0],
            )
            self.spec.validate_response(request, mock)
            if response.streaming:
                response.body_text = content.decode()
        return response

    def get(self, path: str, **kwargs: Any):
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any):
        return self.call("POST", path, body if body is not None else {}, **kwargs)


@pytest.fixture
def alice_token(alice) -> str:
    return api_token_create(user=alice, name="alice laptop").secret


@pytest.fixture
def bob_token(bob) -> str:
    return api_token_create(user=bob, name="bob laptop").secret


@pytest.fixture
def carol_token(carol) -> str:
    return api_token_create(user=carol, name="carol laptop").secret


@pytest.fixture
def alice_api(acme, alice_token) -> Api:
    return Api(alice_token)


@pytest.fixture
def bob_api(acme, bob_token) -> Api:
    return Api(bob_token)


@pytest.fixture
def carol_api(globex, carol_token) -> Api:
    return Api(carol_token)


@pytest.fixture
def anonymous_api(db) -> Api:
    return Api(None)

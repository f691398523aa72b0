"""A client for /api/v1/ whose every response is checked against the served OpenAPI description
(so the description cannot drift from the code); tests/api registers fixtures around it."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.test import Client
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from codexweb.api.openapi import openapi_document


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

"""A small client of /api/v1/ over requests. Errors become ApiCallError with the server's message
and an exit code (see exitcodes.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import requests

from codexweb.client import exitcodes
from codexweb.client.config import ClientConfig

TIMEOUT = 30.0
_STATUS_EXIT = {
    400: exitcodes.USAGE,
    401: exitcodes.AUTH,
    403: exitcodes.AUTH,
    404: exitcodes.NOT_FOUND,
    409: exitcodes.CONFLICT,
    429: exitcodes.RATE_LIMITED,
    501: exitcodes.UNSUPPORTED,
}


class ApiCallError(Exception):
    def __init__(
        self,
        message: str,
        exit_code: int,
        status: int | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message, self.exit_code, self.status = message, exit_code, status
        self.body = body or {"error": message}


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: dict[str, Any]
    id: str | None


# The server's last event on a stream: the attempt ended, the stream's time ran out, or the
# caller lost access to the attempt (codexweb/api/stream.py).
STREAM_END_EVENTS = ("end", "timeout", "forbidden")


def parse_sse(lines: Iterable[str | None]) -> Iterator[SseEvent]:
    """Server-Sent Events from a stream's lines, until an `end`, `timeout` or `forbidden` event.
    https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation"""
    event, event_id = "message", None
    data: list[str] = []
    for raw in lines:
        line = raw if raw is not None else ""
        if line == "":
            if data:
                try:
                    parsed = json.loads("\n".join(data))
                except ValueError:
                    parsed = {"raw": "\n".join(data)}
                yield SseEvent(event, parsed, event_id)
                if event in STREAM_END_EVENTS:
                    return
            event, data, event_id = "message", [], None
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
            elif field == "id":
                event_id = value


class ApiClient:
    def __init__(self, config: ClientConfig) -> None:
        self.base = config.server.rstrip("/") + "/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {config.token}"
        self.session.headers["User-Agent"] = "codexweb-cli"

    def _raise_for(self, response: requests.Response) -> None:
        if response.status_code < 400:
            return
        try:
            body = response.json()
            message = body.get("error") or response.reason
        except ValueError:
            body, message = None, f"HTTP {response.status_code} {response.reason}"
        code = _STATUS_EXIT.get(response.status_code, exitcodes.SERVER)
        raise ApiCallError(str(message), code, response.status_code, body)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        try:
            response = self.session.request(method, self.base + path, **kwargs)
        except requests.RequestException as exc:
            raise ApiCallError(f"Cannot reach {self.base}: {exc}", exitcodes.SERVER) from exc
        self._raise_for(response)
        return response

    def get_json(self, path: str, **params: Any) -> Any:
        return self._json(
            self.request("GET", path, params={k: v for k, v in params.items() if v is not None})
        )

    def get_while(self, path: str, result: Any, *, key: str, pending: str, polls: int,
                  seconds: float) -> Any:
        """GET `path` every `seconds` while `result[key]` is `pending`, at most `polls` times
        (a server job being waited for); returns the last answer."""
        for _ in range(polls):
            if result[key] != pending:
                break
            time.sleep(seconds)
            result = self.get_json(path)
        return result

    def post_json(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        return self._json(self.request("POST", path, json=payload or {}))

    def get_text(self, path: str) -> str:
        return self.request("GET", path).text

    @staticmethod
    def _json(response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise ApiCallError(
                "The server answered with something that is not JSON.", exitcodes.SERVER
            ) from exc

    def stream_events(self, attempt_id: int, after: int = 0) -> Iterator[SseEvent]:
        """Server-Sent Events of an attempt until its `end` event (or the connection ends)."""
        response = self.request(
            "GET",
            f"/attempts/{attempt_id}/events/stream",
            params={"after": after},
            stream=True,
            timeout=(10, 120),
            headers={"Accept": "text/event-stream"},
        )
        with response:
            try:
                yield from parse_sse(response.iter_lines(decode_unicode=True))
            except requests.RequestException as exc:  # the server restarted mid-stream
                raise ApiCallError(
                    f"The event stream from {self.base} broke off: {exc}", exitcodes.SERVER
                ) from exc

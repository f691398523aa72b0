"""JSON errors for the API: every failure is `{"error": message, "code": code}` (+ `details`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import KW_ONLY, dataclass
from typing import Any

from django.http import JsonResponse


@dataclass(eq=False)
class ApiError(Exception):
    """Raised by API views; turned into a JSON response with `status` by `response()`."""

    status: int
    code: str
    message: str
    _: KW_ONLY
    details: list[Any] | None = None
    headers: dict[str, str] | None = None

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def response(self) -> JsonResponse:
        body: dict[str, Any] = {"error": self.message, "code": self.code}
        if self.details:
            body["details"] = self.details
        response = JsonResponse(body, status=self.status)
        for name, value in (self.headers or {}).items():
            response[name] = value
        return response


def error_response(
    status: int, code: str, message: str, *, headers: dict[str, str] | None = None
) -> JsonResponse:
    """The JSON error for a failure met outside a view's `raise ApiError(...)`."""
    return ApiError(status, code, message, headers=headers).response()


def from_api_error(exc: ApiError) -> JsonResponse:
    return exc.response()


@contextmanager
def refusals(answers: Mapping[type[Exception], tuple[int, str]]) -> Iterator[None]:
    """Answers a service's refusal raised inside the block as ApiError: the status and code
    of the first exception class in `answers` it is an instance of, and its own sentence as the
    message. Other exceptions pass through."""
    try:
        yield
    except Exception as exc:
        for kind, (status, code) in answers.items():
            if isinstance(exc, kind):
                raise ApiError(status, code, str(exc)) from exc
        raise

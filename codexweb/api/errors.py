"""JSON errors for the API: every failure is `{"error": message, "code": code}` (+ `details`)."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse


class ApiError(Exception):
    """Raised by API views; turned into a JSON response with `status`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details
        self.headers = headers or {}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    details: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    body: dict[str, Any] = {"error": message, "code": code}
    if details:
        body["details"] = details
    response = JsonResponse(body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def from_api_error(exc: ApiError) -> JsonResponse:
    return error_response(
        exc.status, exc.code, exc.message, details=exc.details, headers=exc.headers
    )

"""Request payloads of the API, validated with pydantic (unknown fields are refused)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator


class ImageIn(BaseModel):
    """An image as base64 (standard alphabet, no `data:` prefix); its type is decided by
    decoding it, never by `name`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=255, description="the file's name, for display")
    data: str = Field(min_length=1, description="the file's bytes, base64")


_TASK_FIELDS = {"mode", "prompt", "branch", "model", "attempts", "pull_request"}


class TaskCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repository: str | int = Field(description="owner/name, or the repository's id")
    team: str | None = Field(default=None, description="team slug, when the name is ambiguous")
    mode: Literal["ask", "code", "review"]
    prompt: str = Field(min_length=1, max_length=20000)
    branch: str = Field(default="", max_length=255, serialization_alias="base_branch")
    pull_request: str | int | None = Field(
        default=None, description="an open pull request of the repository (number or URL) to "
        "start from: its head branch is checked out; a fork's is refused")
    attempts: int = Field(default=1, ge=1, le=4)
    model: Literal["strong", "fast"] = Field(default="strong", serialization_alias="model_tier")
    images: list[ImageIn] = Field(default_factory=list, description="sent to the model with "
                                  "the prompt (PNG, JPEG, WebP, GIF)")
    # Review tasks: exactly one of these says what to review.
    pull: int | None = Field(default=None, ge=1, description="review: a pull request number")
    review_branch: str = Field(default="", max_length=255,
                               description="review: a branch, against `branch`")
    review_attempt: int | None = Field(default=None, ge=1,
                                       description="review: an attempt's id (its own diff)")

    def task_fields(self) -> dict[str, Any]:
        """The Ask/Code task's fields under tasks.services.task_create's names (the fields'
        serialization aliases)."""
        return self.model_dump(include=_TASK_FIELDS, by_alias=True)

    @field_serializer("pull_request")
    def _pull_request_text(self, value: str | int | None) -> str:
        return str(value or "")  # the service takes a number or URL as text, "" for none

    @field_validator("prompt")
    @classmethod
    def prompt_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("describe the task")
        return value

    @field_validator("branch")
    @classmethod
    def branch_usable(cls, value: str) -> str:
        value = value.strip()
        if value.startswith("-") or ".." in value or any(c in value for c in " ~^:?*[\\"):
            raise ValueError("not a valid branch name")
        return value


class PullRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attempt: int | None = Field(default=None, ge=1, description="attempt index; default: the best")
    draft: bool | None = Field(default=None, description="open as a draft (true) or ready for "
                               "review (false); default: a draft when the summary's checks "
                               "found invalid citations or unbacked claims")


class ReviewPostIn(BaseModel):
    """How to post a finished review to its pull request (GitHub's review `event`)."""

    model_config = ConfigDict(extra="forbid")

    event: Literal["COMMENT", "APPROVE", "REQUEST_CHANGES"] = Field(
        default="COMMENT", description="Comment, Approve or Request changes")


class SteerIn(BaseModel):
    """A message for a running attempt's agent, and/or "stop after this step"."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(default="", max_length=20000, description="what the agent should know")
    stop: bool = Field(default=False, description="end the attempt after the current step, "
                       "keeping its changes")


class FollowUpIn(BaseModel):
    """The next instruction for a finished attempt: a new attempt continues from it."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=20000)
    images: list[ImageIn] = Field(default_factory=list)
    update_pr: bool = Field(default=False, description="when it succeeds, push the result to "
                            "the parent attempt's open pull request")


class CombineIn(BaseModel):
    """Hunks of a task's attempts to combine into one patch."""

    model_config = ConfigDict(extra="forbid")

    hunks: list[str] = Field(min_length=1, max_length=500,
                             description="hunk ids: attempt id:file index:hunk index")


class CredentialIn(BaseModel):
    """A credential the egress proxy adds for a domain (write-only: never returned)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str = Field(min_length=1, max_length=100, description="saving a name again replaces it")
    domain: str = Field(min_length=1, max_length=255, description="host, or *.suffix")
    kind: Literal["header", "bearer", "basic"]
    header_name: str = Field(default="", max_length=100, description="for kind=header")
    value: str = Field(default="", max_length=16384,
                       description="the header's value (header) or the token (bearer)")
    username: str = Field(default="", max_length=200, description="for kind=basic")
    password: str = Field(default="", max_length=16384, description="for kind=basic")
    path_prefix: str = Field(default="/", max_length=500, description="only requests under it")
    allow_http: bool = Field(default=False, description="also over plain HTTP (else HTTPS only)")


class WebhookIn(BaseModel):
    """A team webhook to add; the service checks the URL (http(s), a public address)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, description="http:// or https://")

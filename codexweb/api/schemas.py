"""Request payloads of the API, validated with pydantic (unknown fields are refused)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class TaskCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repository: str | int = Field(description="owner/name, or the repository's id")
    team: str | None = Field(default=None, description="team slug, when the name is ambiguous")
    mode: Literal["ask", "code", "review"]
    prompt: str = Field(min_length=1, max_length=20000)
    branch: str = Field(default="", max_length=255)
    attempts: int = Field(default=1, ge=1, le=4)
    model: Literal["strong", "fast"] = "strong"
    # Review tasks: exactly one of these says what to review.
    pull: int | None = Field(default=None, ge=1, description="review: a pull request number")
    review_branch: str = Field(default="", max_length=255,
                               description="review: a branch, against `branch`")
    review_attempt: int | None = Field(default=None, ge=1,
                                       description="review: an attempt's id (its own diff)")

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


class SteerIn(BaseModel):
    """A message for a running attempt's agent, and/or "stop after this step"."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(default="", max_length=20000, description="what the agent should know")
    stop: bool = Field(default=False, description="end the attempt after the current step, "
                       "keeping its changes")

"""errors.refusals: how a service's refusal becomes the API's JSON answer."""

from __future__ import annotations

import pytest

from codexweb.api.errors import ApiError, refusals


class Finished(Exception):
    pass


class AlreadyDone(Finished):
    pass


def test_a_refusal_is_answered_with_its_status_code_and_own_sentence():
    with pytest.raises(ApiError) as caught, refusals({Finished: (409, "already_finished")}):
        raise AlreadyDone("Attempt 2 has finished.")
    assert (caught.value.status, caught.value.code) == (409, "already_finished")
    assert caught.value.message == "Attempt 2 has finished."
    assert isinstance(caught.value.__cause__, AlreadyDone)


def test_the_first_matching_class_decides_as_except_clauses_would():
    answers = {AlreadyDone: (409, "already_done"), Finished: (400, "invalid_request")}
    with pytest.raises(ApiError) as caught, refusals(answers):
        raise Finished("no")
    assert caught.value.status == 400
    with pytest.raises(ApiError) as caught, refusals(answers):
        raise AlreadyDone("no")
    assert caught.value.status == 409


def test_anything_else_passes_through_untouched():
    with pytest.raises(KeyError), refusals({Finished: (409, "already_finished")}):
        raise KeyError("boom")

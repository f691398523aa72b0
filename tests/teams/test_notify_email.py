"""The e-mail to the person who started an attempt, through Django's mail backend (locmem in
the tests: `mailoutbox`); off unless configured."""

from __future__ import annotations

from django.test import override_settings

from tasks import services
from tasks.models import Status
from tasks.notifications.fanout import attempt_notify
from tasks.notifications.payloads import ATTEMPT_BLOCKED, ATTEMPT_FINISHED
from tests.support import factories


def _finish(attempt, status=Status.FAILED, error="The tests failed."):
    services.attempt_claim(attempt_id=attempt.pk)
    return services.attempt_finish(attempt_id=attempt.pk, status=status, error=error)


@override_settings(NOTIFY_EMAIL=True, PUBLIC_URL="https://codexweb.example.test")
def test_the_author_gets_an_email_with_a_link(acme_repo, alice, mailoutbox):
    attempt = _finish(factories.make_task(acme_repo, alice, prompt="Fix the login").attempts.get())
    attempt_notify(attempt.pk, ATTEMPT_FINISHED)
    [mail] = mailoutbox
    assert mail.to == [alice.email]
    assert "failed" in mail.subject and "attempt 1" in mail.subject
    assert f"https://codexweb.example.test/tasks/{attempt.task_id}/#attempt-1" in mail.body
    assert "The tests failed." in mail.body


@override_settings(NOTIFY_EMAIL=True)
def test_a_blocked_attempt_names_the_host_it_waits_to_reach(acme_repo, alice, mailoutbox):
    attempt = factories.make_task(acme_repo, alice).attempts.get()
    services.attempt_claim(attempt_id=attempt.pk)
    attempt_notify(attempt.pk, ATTEMPT_BLOCKED, host="pypi.example.test")
    [mail] = mailoutbox
    assert "waiting for your approval to reach pypi.example.test" in mail.subject
    assert "pypi.example.test" in mail.body


@override_settings(NOTIFY_EMAIL=True)
def test_a_follow_up_tells_the_person_who_asked_for_it(acme_repo, alice, bob, mailoutbox):
    first = _finish(factories.make_task(acme_repo, alice).attempts.get(), status=Status.SUCCEEDED)
    follow_up = first.task.attempts.create(index=2, parent=first, requested_by=bob,
                                           follow_up_prompt="Also the docs")
    _finish(follow_up, status=Status.SUCCEEDED, error="")
    attempt_notify(follow_up.pk, ATTEMPT_FINISHED)
    [mail] = mailoutbox
    assert mail.to == [bob.email] and "succeeded" in mail.subject


@override_settings(NOTIFY_EMAIL=False)
def test_no_email_unless_configured(acme_repo, alice, mailoutbox):
    attempt = _finish(factories.make_task(acme_repo, alice).attempts.get())
    attempt_notify(attempt.pk, ATTEMPT_FINISHED)
    assert mailoutbox == []


@override_settings(NOTIFY_EMAIL=True)
def test_no_email_for_a_person_without_an_address(acme_repo, alice, mailoutbox):
    alice.email = ""
    alice.save()
    attempt = _finish(factories.make_task(acme_repo, alice).attempts.get())
    attempt_notify(attempt.pk, ATTEMPT_FINISHED)
    assert mailoutbox == []


def test_email_is_off_by_default():
    from codexweb import settings as defaults

    assert defaults.EMAIL_HOST == "" and defaults.NOTIFY_EMAIL is False

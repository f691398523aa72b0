"""The e-mail to the person who started an attempt (Django's mail backend, EMAIL_* settings).
Sent only when NOTIFY_EMAIL is on (it is when EMAIL_HOST is set)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail

from tasks.models import Attempt
from tasks.notifications.payloads import ATTEMPT_BLOCKED, attempt_recipient, attempt_url

_STATUS_WORDS = {
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "was cancelled",
    "stopped": "stopped",
}


def attempt_email_text(attempt: Attempt, event: str, *, host: str = "") -> tuple[str, str]:
    """(subject, body) of the e-mail about `attempt`; a blocked attempt's names the host."""
    task = attempt.task
    if event == ATTEMPT_BLOCKED:
        what = "is waiting for your approval" + (f" to reach {host}" if host else "")
    else:
        what = _STATUS_WORDS.get(attempt.status, attempt.status)
    subject = f"[codexweb] {task.title} — attempt {attempt.index} {what}"
    lines = [
        f"Your task on {task.repository} {what} (attempt {attempt.index}).",
        "",
        f"Task: {task.title}",
    ]
    if attempt.error:
        lines.append(f"Reason: {attempt.error}")
    lines += ["", f"Open it: {attempt_url(attempt)}", ""]
    return subject, "\n".join(lines)


def attempt_email_send(attempt: Attempt, event: str, *, host: str = "") -> bool:
    """Send it; False (nothing sent) when e-mail is off or the person has no address."""
    if not settings.NOTIFY_EMAIL:
        return False
    person = attempt_recipient(attempt)
    if person is None or not person.email:
        return False
    subject, body = attempt_email_text(attempt, event, host=host)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [person.email])
    return True

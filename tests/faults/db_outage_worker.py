"""Run by tests/faults/test_database_outage.py in a child process against a private PostgreSQL
the test stops and starts: one attempt driven by the real job (`tasks.jobs.run_attempt`: claim,
heartbeat, error handling), whose work is a stream of events written the way the agent writes
them. Prints "WRITING" once events flow, then a JSON report on stdout.

    python -m tests.faults.db_outage_worker EVENTS
"""

from __future__ import annotations

import json
import sys
import time


def main(count: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    import tasks.worker.attempt
    from tasks import events, services
    from tasks.jobs import run_attempt
    from tasks.models import Attempt, Status
    from tasks.resilience import with_db_retry
    from tests.support import factories

    alice, repository = factories.make_alice_and_webapp()
    attempt = factories.make_task(repository, alice).attempts.get()

    def agent_writing_events(attempt_id: int) -> None:
        """Stands in for the sandbox and the agent: only their event writes matter here."""
        for n in range(count):
            events.publish(attempt_id, "output", {"chunk_id": "c", "text": f"line {n}\n"})
            if n == 5:
                print("WRITING", flush=True)
            time.sleep(0.05)
        with_db_retry(
            lambda: services.attempt_finish(attempt_id=attempt_id, status=Status.SUCCEEDED),
            what="record the end of the attempt",
        )

    tasks.worker.attempt.run_attempt_steps = agent_writing_events
    run_attempt(attempt.pk)

    def report() -> dict:
        ended = Attempt.objects.get(pk=attempt.pk)
        return {
            "status": ended.status,
            "error": ended.error,
            "last_seq": ended.last_seq,
            "seqs": list(ended.events.order_by("seq").values_list("seq", flat=True)),
            "outputs": ended.events.filter(kind="output").count(),
        }

    return with_db_retry(report, what="read the report", total_seconds=60)


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))), flush=True)

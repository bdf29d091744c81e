"""A worker process killed in the middle of an import: no row lost, none repeated. A real
`python -m bot worker` (its import runner beside its Worker) is SIGKILLed while rows are
in flight; the runner that takes over checks the cut-off rows with Coolblue first."""

from __future__ import annotations

import signal

from bot.domain.bulk import ImportStatus, row_id
from bot.storage.keys import IMPORT_WORK_GROUP, IMPORT_WORK_STREAM
from tests.conftest import ALICE, BOB, COMMUNITY
from tests.flows import eventually
from tests.import_flows import click, created_per_email, file_import, get, people_csv, wait_finished
from tests.test_resilience_e2e import worker_process


def test_a_worker_killed_mid_import_loses_no_row_and_repeats_none(make_stack, tmp_path):
    stack = make_stack(workers=0)
    stack.sandbox.faults.latency_ms = 100  # rows in flight when the process dies
    request = file_import(stack, ALICE, people_csv(60))
    click(stack, BOB, "Approve", request)
    doomed = worker_process(stack, tmp_path)
    try:
        eventually(lambda: len(created_per_email(stack)) >= 12, 30, "the doomed runner at work")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
    finally:
        if doomed.poll() is None:
            doomed.kill()
    cut_off = get(stack, request.id)
    assert cut_off.remaining > 0 and cut_off.status is ImportStatus.EXECUTING

    stack.start_worker()  # with its import runner, as a restarted worker process would
    done = wait_finished(stack, request.id, timeout=60)

    assert (done.done, done.failed, done.skipped) == (60, 0, 0)
    created = created_per_email(stack)
    assert len(created) == 60 and set(created.values()) == {1}  # every row exactly once
    assert len(stack.sandbox.state.members(COMMUNITY)) == 60
    assert stack.redis.xpending(IMPORT_WORK_STREAM, IMPORT_WORK_GROUP)["pending"] == 0
    rows = [stack.services.store.get(row_id(request.id, n)) for n in range(2, 62)]
    cut = [row for row in rows if row.attempts > 1]
    assert cut and all(row.ambiguous for row in cut)  # checked with Coolblue before anything

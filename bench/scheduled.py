"""`python -m bench.scheduled`: 1,000 scheduled changes due within the same minute, carried out
by 4 worker processes (8 jobs each) against the sandbox at 50 ms latency, on 127.0.0.1.

Lateness is the time from a change's due time to its worker starting the API call (the
`execution_started` audit entry, written just before the call). The changes are stored
directly as approved and scheduled (the bot's own RedisRequestStore), so the figure is the
scheduler's, not the Slack round trips before it. Bounded: 1,000 changes, two minutes at most.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from bench.stack import COMMUNITY, BenchStack, StackOptions, poll
from bot.domain import audit
from bot.domain.clock import SystemClock
from bot.domain.requests import MemberRequest, Operation, Status
from bot.storage import RedisServer
from bot.storage.audit_log import RedisAuditLog
from bot.storage.requests import RedisRequestStore

LATENCY_MS = 50


def seed(stack: BenchStack, count: int, first_due: float, spread: float) -> dict[str, float]:
    store = RedisRequestStore(stack.redis, clock=SystemClock())
    due: dict[str, float] = {}
    now = time.time()
    for number in range(count):
        request = MemberRequest(
            id=f"RS{number:06d}",
            operation=Operation.ADD,
            community_id=COMMUNITY,
            community_name="Acme Employees",
            email=f"due{number:06d}@example.com",
            requester_id="U0HR000",
            created_at=now,
            updated_at=now,
            expires_at=now + 3600,
            approvals_required=1,
            environment="ACCEPTANCE",
            first_name="Due",
            last_name="Member",
            credit=Decimal("10.00"),
            status=Status.SCHEDULED,
            decided_by="U0BOSS",
            decided_at=now,
            rounds=1,
            announced_round=1,
            due_at=first_due + spread * number / count,
        )
        store.create(request, audit.entry(request, "filed", request.requester_id))
        due[request.id] = request.due_at
    return due


def lateness(stack: BenchStack, due: dict[str, float]) -> list[float]:
    started: dict[str, float] = {}
    for entry in RedisAuditLog(stack.redis).entries():
        if entry.get("action") == "execution_started" and entry["request_id"] in due:
            at = datetime.fromisoformat(entry["at"]).timestamp()
            started.setdefault(entry["request_id"], at)
    return [started[request_id] - due[request_id] for request_id in due if request_id in started]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scheduled", description=__doc__)
    parser.add_argument("--changes", type=int, default=1000)
    args = parser.parse_args(argv)
    with RedisServer(Path(tempfile.mkdtemp(prefix="bench-scheduled-"))) as server:
        options = StackOptions(workers=4, worker_concurrency=8, worker_env={"LOG_LEVEL": "WARNING"})
        with BenchStack(server.url, options) as stack:
            stack.set_latency(LATENCY_MS)
            due = seed(stack, args.changes, first_due=time.time() + 10, spread=60.0)
            poll(
                lambda: stack.member_count() >= args.changes,
                timeout=120,
                interval=0.5,
                what="every scheduled change carried out",
            )
            late = sorted(lateness(stack, due))
    p50 = statistics.median(late)
    p99 = late[max(0, int(len(late) * 0.99) - 1)]
    print(
        f"{len(late)} scheduled changes due within one minute, 4 workers x 8, "
        f"sandbox at {LATENCY_MS} ms: lateness from due time to the API call "
        f"p50 {p50:.2f} s, p99 {p99:.2f} s, max {late[-1]:.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

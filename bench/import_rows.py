"""/community import at scale, against the production-shaped BenchStack (web process, N
worker processes each with its import runner, the sandbox process, a real redis-server).

Three passes, each a real import filed through the modal (the CSV attached in the Slack
stand-in), approved by a click, and watched until every row has its outcome:

* speed: `rows` rows at `latency_ms` of sandbox latency. The clock runs from the first row
  started to the last finished (the import's own started_at / finished_at) and is compared
  with the ideal rows x latency / IMPORT_CONCURRENCY. The approval message's chat.update
  calls in that import are counted from the stand-in's call log: their number, and the
  shortest gap between two (the throttle allows one per IMPORT_PROGRESS_SECONDS);
* Redis: a smaller import at no latency with MONITOR on, counting what clients sent per
  row, from the approval to the result file posted (script-internal calls left out,
  MULTI...EXEC once, each command of a pipeline counted); the idle polling of every
  process, measured over a quiet window first, is subtracted;
* memory: `memory_rows` rows at no latency; the peak resident set (VmHWM) of each worker
  process, against what it was before the import.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from bench.redis_trips import Monitor, commandstats
from bench.stack import APPROVALS, HR_USERS, BenchStack, poll
from bot.storage import keys

CONCURRENCY = 8  # IMPORT_CONCURRENCY's default: rows in flight across all worker processes
PROGRESS_SECONDS = 3.0  # IMPORT_PROGRESS_SECONDS's default


def run(
    stack: BenchStack,
    rows: int,
    latency_ms: int,
    redis_rows: int,
    memory_rows: int,
    *,
    quiet_seconds: float = 2.0,
) -> dict[str, Any]:
    first = _speed(stack, rows, latency_ms)
    trips = _round_trips(stack, redis_rows, quiet_seconds)
    memory = _memory(stack, memory_rows)
    return {**first, "redis": trips, "memory": memory}


def _speed(stack: BenchStack, rows: int, latency_ms: int) -> dict[str, Any]:
    stack.set_latency(latency_ms)
    try:
        cpu_before = _cpu_seconds(stack)
        import_id, ts = _file_and_approve(stack, rows, start=0)
        done = _wait_finished(stack, import_id, timeout=max(120.0, rows * latency_ms / 200))
        cpu = _cpu_seconds(stack) - cpu_before
    finally:
        stack.set_latency(0)
    elapsed = float(done["finished_at"]) - float(done["started_at"])
    ideal = rows * latency_ms / 1000 / CONCURRENCY
    updates = sorted(
        call.at
        for call in stack.standin.calls_to("chat.update")
        if call.args.get("ts") == ts and call.args.get("channel") == APPROVALS
    )
    gaps = [later - earlier for earlier, later in zip(updates, updates[1:], strict=False)]
    return {
        "rows": rows,
        "sandbox_latency_ms": latency_ms,
        "concurrency": CONCURRENCY,
        "workers": len(stack.workers),
        "elapsed_s": round(elapsed, 2),
        "ideal_s": round(ideal, 2),
        "ratio_to_ideal": round(elapsed / ideal, 3) if ideal else 0.0,
        "rows_per_s": round(rows / elapsed, 1) if elapsed else 0.0,
        "failed": int(done.get("failed") or 0),
        # Every worker process's CPU (user + system) from the filing to the result posted.
        "worker_cpu_ms_per_row": round(cpu * 1000 / rows, 2),
        "chat_updates": len(updates),
        "min_gap_between_updates_s": round(min(gaps), 2) if gaps else None,
        "progress_seconds": PROGRESS_SECONDS,
    }


def _round_trips(stack: BenchStack, rows: int, quiet_seconds: float) -> dict[str, Any]:
    monitor = Monitor(stack.redis_url).start()
    try:
        time.sleep(0.2)
        quiet_start, idle_commands_start = time.time(), commandstats(stack.redis).total()
        time.sleep(quiet_seconds)
        quiet_commands = commandstats(stack.redis)
        idle_rate = monitor.round_trips(quiet_start, time.time()) / quiet_seconds
        idle_commands = (quiet_commands.total() - idle_commands_start) / quiet_seconds
        import_id, _ = _file_and_approve(stack, rows, start=1_000_000)
        approved_at, commands_before = time.time(), commandstats(stack.redis)
        _wait_finished(stack, import_id, timeout=120)  # the result file posted included
        ended = time.time()
        trips = monitor.round_trips(approved_at, ended)
        commands = commandstats(stack.redis).total() - commands_before.total()
    finally:
        monitor.close()
    idle = idle_rate * (ended - approved_at)
    return {
        "rows": rows,
        "round_trips_per_row": round(max(0.0, trips - idle) / rows, 2),
        # INFO commandstats: a script's own commands and MULTI's each count.
        "commands_per_row": round(
            max(0.0, commands - idle_commands * (ended - approved_at)) / rows, 2
        ),
        "idle_round_trips_per_s": round(idle_rate, 1),
    }


def _memory(stack: BenchStack, rows: int) -> dict[str, Any]:
    before = [_status_kb(worker.pid, "VmRSS") for worker in stack.workers]
    import_id, _ = _file_and_approve(stack, rows, start=2_000_000)
    _wait_finished(stack, import_id, timeout=max(300.0, rows / 10))  # the result file too
    peaks = [_status_kb(worker.pid, "VmHWM") for worker in stack.workers]
    return {
        "rows": rows,
        "worker_rss_before_mb": round(max(before) / 1024, 1),
        "worker_peak_mb": round(max(peaks) / 1024, 1),
    }


def people(count: int, start: int) -> bytes:
    lines = ["first name;last name;e-mail;credit"] + [
        f"Bench;Row{i};row{i:07d}@example.com;10,00" for i in range(start, start + count)
    ]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def _file_and_approve(stack: BenchStack, rows: int, *, start: int) -> tuple[str, str]:
    """File an import of `rows` rows through the modal and approve it: (import ID, ts)."""
    driver = stack.drivers(1)[0]
    user = HR_USERS[0]
    known = {ts for ts, _ in _import_messages(stack)}
    assert driver.command(user, "import").status_code == 200
    view = stack.standin.wait_for(
        lambda: (v := stack.standin.open_view(user)) and v["callback_id"] == "import_file" and v,
        timeout=15,
        description="the Import modal",
    )
    submitted = driver.fill_and_submit(
        user, view["id"], {"csv_file": ("bench.csv", people(rows, start))}
    )
    if submitted.errors or submitted.status_code != 200:
        raise RuntimeError(f"import refused: {submitted.errors or submitted.body}")
    ts, import_id = poll(
        lambda: next(((t, i) for t, i in _import_messages(stack) if t not in known), None),
        timeout=120,
        interval=0.05,
        what="the import's approval message",
    )
    stack.approve(driver, ts)
    return import_id, ts


def _import_messages(stack: BenchStack) -> list[tuple[str, str]]:
    found = []
    for message in stack.standin.messages(APPROVALS):
        metadata = message.metadata or {}
        if metadata.get("event_type") == "community_import":
            found.append((message.ts, str(metadata["event_payload"]["import_id"])))
    return found


def _wait_finished(
    stack: BenchStack, import_id: str, timeout: float, *, posted: bool = True
) -> dict[str, str]:
    """The import once every row has its outcome (and, with `posted`, once the result file
    is posted too, so the next pass starts quiet)."""

    def finished() -> dict[str, str] | None:
        data: dict[str, str] = stack.redis.hgetall(keys.import_request(import_id))
        done = float(data.get("finished_at") or 0) > 0
        return data if done and (data.get("result_posted") == "1" or not posted) else None

    return dict(poll(finished, timeout=timeout, interval=0.05, what=f"import {import_id}"))


def _cpu_seconds(stack: BenchStack) -> float:
    """User + system CPU of every worker process so far, in seconds."""
    total = 0
    for worker in stack.workers:
        fields = Path(f"/proc/{worker.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0

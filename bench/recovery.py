"""`python -m bench.recovery`: how fast the worker recovers, on the bot as production runs it
(redis-server, the sandbox, web and two worker processes on 127.0.0.1).

- kill -9: a worker busy with a create (the sandbox holds it for 2 s) is SIGKILLed; the
  time from the kill to the request done (another worker claims it after the claim time,
  WORKER_CLAIM_IDLE_SECONDS, default 10 s, checks first, and finishes).
- Redis stall: Redis is blocked (DEBUG SLEEP) for longer than the workers' socket timeout
  (REDIS_SOCKET_TIMEOUT_SECONDS, 1 s here); the time from the end of the stall to a request
  approved during it being done.
Prints one line per figure; bounded (a few requests, a minute at most).
"""

from __future__ import annotations

import argparse
import signal
import statistics
import tempfile
import threading
import time
from pathlib import Path

import redis

from bench.stack import BenchStack, StackOptions, poll
from bot.storage import RedisServer, keys


def _status(stack: BenchStack, request_id: str) -> str:
    return str(stack.redis.hget(keys.request(request_id), "status") or "")


def _file_and_approve(stack: BenchStack) -> str:
    driver = stack.drivers(1)[0]
    seen = {ts for ts, _ in stack.pending_approvals()}
    stack.file_add(driver, "U0HR000", stack.new_email())
    ts, request_id = poll(
        lambda: next(((t, r) for t, r in stack.pending_approvals() if t not in seen), None),
        timeout=20,
        interval=0.01,
        what="the approval message",
    )
    stack.approve(driver, ts)
    return str(request_id)


def kill_nine(stack: BenchStack) -> float:
    stack.admin.post(
        "/faults", json={"operation": "createMember", "hang_next": 1, "hang_seconds": 2.0}
    ).raise_for_status()
    request_id = _file_and_approve(stack)
    poll(lambda: _status(stack, request_id) == "executing", 20, 0.005, "executing")
    owner = stack.redis.get(keys.lease(request_id))
    busy = next(w for w in stack.workers if w.name == owner)
    killed = time.monotonic()
    busy.popen.send_signal(signal.SIGKILL)
    poll(lambda: _status(stack, request_id) == "done", 60, 0.01, "done after kill -9")
    return time.monotonic() - killed


def redis_stall(stack: BenchStack, stall_seconds: float) -> float:
    blocker = redis.Redis.from_url(stack.redis_url)
    stall = threading.Thread(
        target=lambda: blocker.execute_command("DEBUG", "SLEEP", str(stall_seconds))
    )
    stall.start()
    time.sleep(0.1)
    request_id = _file_and_approve(stack)  # filed while Redis sleeps: the web waits too
    stall.join()
    ended = time.monotonic()
    poll(lambda: _status(stack, request_id) == "done", 60, 0.01, "done after the stall")
    blocker.close()
    return time.monotonic() - ended


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recovery", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with RedisServer(_scratch()) as server:
        kills, stalls = [], []
        for _ in range(args.runs):
            options = StackOptions(workers=2, worker_env=_worker_env())
            with BenchStack(server.url, options) as stack:
                kills.append(kill_nine(stack))
            with BenchStack(server.url, options) as stack:
                stalls.append(redis_stall(stack, stall_seconds=3.0))
    print(
        f"kill -9 of a busy worker -> request done: median {statistics.median(kills):.1f} s "
        f"(runs: {_listed(kills)}; claim time 10 s)"
    )
    print(
        "Redis stall of 3 s (socket timeout 1 s) -> request done after it ended: "
        f"median {statistics.median(stalls):.1f} s (runs: {_listed(stalls)})"
    )
    return 0


def _listed(values: list[float]) -> str:
    return ", ".join(f"{value:.1f}" for value in values)


def _worker_env() -> dict[str, str]:
    return {"REDIS_SOCKET_TIMEOUT_SECONDS": "1", "LOG_LEVEL": "WARNING"}


def _scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="bench-recovery-"))


if __name__ == "__main__":
    raise SystemExit(main())

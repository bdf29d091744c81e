"""/healthz and the logs while Redis is frozen or down (issue 17, item 10).

- `python -m bot worker`'s /healthz (HEALTH_PORT) reports its import runner beside the
  worker and Redis.
- With Redis frozen (SIGSTOP: connections open, no answer), /healthz still answers within
  the 1 s a platform probe gives it: 503, naming Redis and why.
- With Redis down, the worker and the import runner each log one warning when the outage
  starts and one line when it ends, not a line per retry.
A Redis of the test's own, stopped with SIGSTOP by its PID (SIGCONT always follows).
"""

from __future__ import annotations

import logging
import os
import signal
import time

import httpx

from bot.storage.redis_server import free_port
from tests.flows import eventually, worker_process


def _healthz(port: int, timeout: float) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=timeout)


def _up(port: int) -> bool:
    try:
        return _healthz(port, 2).status_code == 200
    except httpx.TransportError:
        return False


def test_a_workers_healthz_reports_its_import_runner(make_stack, tmp_path):
    stack = make_stack(workers=0)
    port = free_port()
    process = worker_process(stack, tmp_path, HEALTH_PORT=str(port))
    try:
        eventually(lambda: _up(port), 30, "the worker's /healthz")
        parts = _healthz(port, 2).json()
        assert parts["ok"] is True
        assert parts["redis"] == "ok" and parts["worker"] == "ok"
        assert parts["import runner"] == "ok"
    finally:
        process.terminate()
        process.wait(30)


def test_healthz_answers_within_a_second_while_redis_is_frozen(
    make_stack, own_redis_server, tmp_path
):
    stack = make_stack(workers=0, redis_url=own_redis_server.url)
    port = free_port()
    process = worker_process(stack, tmp_path, HEALTH_PORT=str(port))
    redis_pid = own_redis_server.process.pid
    try:
        eventually(lambda: _up(port), 30, "the worker's /healthz")
        os.kill(redis_pid, signal.SIGSTOP)
        try:
            for _ in range(3):  # each probe on its own, as a platform sends them
                started = time.monotonic()
                reply = _healthz(port, 1.0)  # a platform probe gives up after 1 to 5 s
                took = time.monotonic() - started
                print(f"\n/healthz with Redis frozen: {reply.status_code} in {took:.3f} s")
                assert reply.status_code == 503
                assert reply.json()["redis"].startswith("unavailable")
                assert "no answer" in reply.json()["redis"]
        finally:
            os.kill(redis_pid, signal.SIGCONT)
        eventually(lambda: _up(port), 30, "/healthz ok again once Redis answers")
    finally:
        process.terminate()
        process.wait(30)


def test_one_warning_per_outage_and_one_line_when_it_ends(make_stack, own_redis_server, caplog):
    stack = make_stack(workers=1, redis_url=own_redis_server.url)
    assert len(stack.worker_jobs) == 1 and len(stack.import_runners) == 1
    time.sleep(1)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot"):
        own_redis_server.stop()
        try:
            time.sleep(6)  # many retries of every loop: the worker's, the runner's three
        finally:
            own_redis_server.start()
        eventually(
            lambda: sum("back after" in r.getMessage() for r in caplog.records) >= 2,
            30,
            "the worker and the import runner say Redis is back",
        )
        time.sleep(2)
    for logger in ("bot.worker", "bot.imports"):
        lines = [
            r.getMessage()
            for r in caplog.records
            if r.name == logger and r.levelno >= logging.WARNING
        ]
        failing = [line for line in lines if "Redis failing" in line]
        back = [line for line in lines if "back after" in line]
        assert len(failing) == 1 and len(back) == 1, (logger, lines)
        assert len(lines) == 2, (logger, lines)

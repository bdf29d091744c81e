"""LOG_FORMAT=json: a real `python -m bot worker` carries out a request, and everything it
writes to stderr is JSON lines with the fields a log platform indexes, the request's ID
and correlation ID among them, and no e-mail address."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

from bot.domain.requests import Status
from tests.conftest import ALICE, BOB, team
from tests.flows import JANE, click, file_request, wait_status, worker_process

ADDRESS = re.compile(r"[\w.+-]+(@|%40)[\w-]+\.[\w.]+")


def run_worker_through_a_request(make_stack, tmp_path: Path, **env: str) -> tuple[str, object]:
    stack = make_stack(workers=0)  # the worker process is the only one carrying out work
    worker = worker_process(stack, tmp_path, **env)
    try:
        request = file_request(stack, ALICE, JANE)
        click(stack, BOB, "Approve", request)
        done = wait_status(stack, request.id, Status.DONE, timeout=30)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            _, err = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            _, err = worker.communicate()
    assert worker.returncode == 0, err.decode(errors="replace")
    return err.decode("utf-8"), done


def test_worker_logs_json_lines(make_stack, tmp_path: Path) -> None:
    stderr, done = run_worker_through_a_request(make_stack, tmp_path, LOG_FORMAT="json")
    lines = stderr.splitlines()
    assert len(lines) >= 5, stderr
    records = []
    for line in lines:
        record = json.loads(line)  # every line, not just most
        assert isinstance(record, dict), line
        assert {"time", "level", "logger", "message"} <= record.keys(), line
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", record["time"])
        records.append(record)

    assert any("started (concurrency" in r["message"] for r in records)
    # The worker's lines about this request carry its ID, the API calls its correlation ID.
    about = [r for r in records if r.get("request_id") == done.id]
    assert about, stderr
    assert {r["logger"] for r in about} >= {"bot.communities", "bot.worker"}
    calls = [r for r in about if "operation=createMember" in r["message"]]
    assert calls and all(r.get("correlation_id") == done.correlation_id for r in calls), calls
    # Lines about no request in particular say none.
    assert all("request_id" not in r for r in records if "started (concurrency" in r["message"])

    assert not ADDRESS.search(stderr), ADDRESS.search(stderr)
    for person in [JANE["email"], *(user.email for user in team())]:
        assert person not in stderr


def test_text_stays_the_default(make_stack, tmp_path: Path) -> None:
    stderr, _ = run_worker_through_a_request(make_stack, tmp_path)
    started = next(line for line in stderr.splitlines() if "started (concurrency" in line)
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO bot\.worker worker ", started)
    assert not started.startswith("{")
    assert not ADDRESS.search(stderr)

"""`python -m bench --smoke` runs end to end and writes every figure; speed is not judged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


@pytest.mark.timeout(330)  # a bound, not a speed check: the smoke run is many processes
def test_smoke_run_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())

    assert {
        "ack_latency",
        "approve_to_done",
        "redis_per_lifecycle",
        "token_economy",
        "throughput",
        "throughput_sized",
        "import_rows",
        "side_by_side",
        "slack_over_tls",
        "targets",
        "machine",
    } <= report.keys()
    commands = {cell["command"].split()[1] for cell in report["ack_latency"].values()}
    assert commands == {"help", "credit", "add"}
    for cell in report["ack_latency"].values():
        assert cell["n"] > 0 and cell["failures"] == 0
        assert _number(cell["p50_ms"]) and _number(cell["p99_ms"])
    for cell in report["approve_to_done"].values():
        assert _number(cell["click_to_member"]["p99_ms"])
        assert isinstance(cell["overhead"]["p99_ms"], int | float)
    redis_figures = report["redis_per_lifecycle"]
    assert set(redis_figures["stages"]) == {"filed", "approved", "done"}
    assert redis_figures["commands_total"] > 0 and _number(redis_figures["round_trips_total"])
    assert all(
        isinstance(count, int)
        for stage in redis_figures["stages"].values()
        for count in stage["per_command"].values()
    )
    tokens = report["token_economy"]
    assert tokens["api_calls"] > 0 and tokens["token_requests"] >= 1
    assert _number(tokens["token_requests_per_1000_calls"])
    throughput = report["throughput"]
    assert throughput["requests"] > 0 and _number(throughput["ratio_to_ideal"])
    imports = report["import_rows"]
    assert imports["rows"] > 0 and imports["failed"] == 0 and _number(imports["ratio_to_ideal"])
    assert imports["chat_updates"] >= 1 and _number(imports["redis"]["round_trips_per_row"])
    assert imports["memory"]["worker_peak_mb"] >= imports["memory"]["worker_rss_before_mb"] > 0
    side = report["side_by_side"]
    for bot in ("ours", "floor", "naive"):
        assert side["failures"][bot] == 0
        for kind in ("add", "submission", "approve", "credit"):
            assert side["cells"][bot][kind]["n"] > 0 and _number(side["cells"][bot][kind]["p99_ms"])
    assert all(_number(r["to_floor_slash_p99"]) for r in side["ratios"].values())
    assert any(name.startswith("side by side:") for name in report["targets"])
    tls = report["slack_over_tls"]
    assert tls["approve_to_done"]["n"] > 0 and _number(tls["connections_per_approval"])
    socket_mode = report["socket_mode"]
    for mode in ("http", "socket"):
        cell = socket_mode["ack"]["help"]["20"][mode]
        assert cell["n"] > 0 and cell["failures"] == 0 and _number(cell["p99_ms"])
    for fault in ("drop", "disconnect"):
        recovered = socket_mode["reconnect"][fault]
        assert recovered["n"] == 1 and recovered["failures"] == 0
        assert _number(recovered["max_s"])
    assert all(isinstance(v["met"], bool) for v in socket_mode["targets"].values())
    assert all(isinstance(v["met"], bool) for v in report["targets"].values())

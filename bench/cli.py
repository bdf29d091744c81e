"""`python -m bench [--quick | --smoke]`: run every figure, print a table, write JSON.

`python -m bench --readme [JSON]` runs nothing: it writes docs/benchmarks.md's figures and
the README's side-by-side table from a run's JSON (by default the last run's,
bench/results/latest.json) and keeps that JSON as bench/figures.json, next to the figures
it produced."""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any

from bench import (
    ack,
    approve,
    import_rows,
    keepalive,
    redis_trips,
    side_by_side,
    socket_mode,
    throughput,
    tokens,
)
from bench.report import FIGURES, refresh_front_readme, refresh_readme, render, verdicts
from bench.stack import BenchStack, StackOptions
from bot.storage import RedisServer

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


@dataclass(frozen=True)
class Profile:
    name: str
    concurrencies: tuple[int, ...]
    ack_samples: int
    approve_latencies: tuple[int, ...]
    approve_samples: int
    redis_samples: int
    quiet_seconds: float
    throughput_requests: int
    throughput_latency_ms: int
    workers: int
    token_lifetime: int
    token_seconds: float
    # Throughput again with workers x concurrency sized to this machine: at 4 x 8 the run
    # is CPU-bound on 2 cores (its rate is the capacity), so its ratio measures the CPU.
    sized_workers: int = 2
    sized_concurrency: int = 2
    # /community import (bench/import_rows.py): rows at a latency, a Redis pass, a memory pass.
    import_rows: int = 1000
    import_latency_ms: int = 100
    import_redis_rows: int = 100
    import_memory_rows: int = 5000
    # Socket Mode next to HTTP (bench/socket_mode.py): acks per command at 1 and 20
    # concurrent, faults (drop, disconnect) and silent connections, each then a command.
    socket_commands: tuple[str, ...] = ("help", "credit", "add")
    socket_samples: int = 200
    socket_reconnects: int = 5
    socket_silent: int = 1
    # Ours next to the floor and a naive bot (bench/side_by_side.py): people x rounds.
    side_people: int = 20
    side_rounds: int = 3
    # Approve -> done with Slack behind TLS at 20 ms per round trip (bench/keepalive.py).
    tls_samples: int = 20


PROFILES = {
    "smoke": replace(
        Profile("smoke", (1, 4), 8, (0, 100), 2, 1, 1.0, 16, 50, 2, 2, 5.0),
        import_rows=24,
        import_latency_ms=20,
        import_redis_rows=8,
        import_memory_rows=40,
        socket_commands=("help",),
        socket_samples=8,
        socket_reconnects=1,
        socket_silent=0,
        side_people=4,
        side_rounds=1,
        tls_samples=2,
    ),
    "quick": Profile("quick", (1, 20, 100), 200, (0, 100), 40, 5, 3.0, 200, 50, 4, 10, 40.0),
    "full": replace(
        Profile("full", (1, 20, 100), 1000, (0, 100), 200, 20, 5.0, 1000, 50, 4, 60, 180.0),
        socket_samples=1000,
        socket_reconnects=20,
        socket_silent=3,
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a run under two minutes")
    size.add_argument("--smoke", action="store_true", help="the smallest run (for the tests)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    size.add_argument(
        "--readme",
        nargs="?",
        type=Path,
        const=RESULTS,
        metavar="JSON",
        help="run nothing: write docs/benchmarks.md's figures from a run's JSON "
        "(default: the last run)",
    )
    args = parser.parse_args(argv)
    if args.readme is not None:
        return write_readme(args.readme)
    profile = PROFILES["smoke" if args.smoke else "quick" if args.quick else "full"]
    signal.signal(signal.SIGTERM, _interrupt)  # so every `finally` stops what we started
    load_before = os.getloadavg()[0]  # other work on the machine shows in every figure
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as scratch:
        server = RedisServer(Path(scratch) / "redis")
        server.start()
        try:
            figures = run_all(profile, server.url)
        finally:
            server.stop()
    report = {
        "profile": asdict(profile),
        "machine": {**machine(), "load_average_before": round(load_before, 2)},
        "seconds": round(time.monotonic() - started, 1),
        **figures,
    }
    report["targets"] = verdicts(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(render(report))
    print("\n" + socket_mode.render(report["socket_mode"]))
    print(f"\nJSON: {args.out}")
    print(f"docs/benchmarks.md's figures from it: python -m bench --readme {args.out}")
    return 0


def write_readme(source: Path) -> int:
    """Keep `source` as bench/figures.json and write docs/benchmarks.md's figures from it."""
    try:
        report = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"Cannot read a benchmark run from {source}: {exc}", file=sys.stderr)
        return 2
    if "targets" not in report:
        print(f"{source} is not the JSON of a `python -m bench` run", file=sys.stderr)
        return 2
    if source.resolve() != FIGURES.resolve():
        FIGURES.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for name, changed in (
        ("docs/benchmarks.md: benchmark figures", refresh_readme(FIGURES)),
        ("README.md: side-by-side table", refresh_front_readme(FIGURES)),
    ):
        state = "rewritten" if changed else "already up to date"
        print(f"{name} {state}, from {source} (kept as {FIGURES})")
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_all(profile: Profile, redis_url: str) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    options = StackOptions(workers=profile.workers)
    with BenchStack(redis_url, options) as stack:
        _say(f"stack up: web + {profile.workers} workers + sandbox")
        figures["ack_latency"] = ack.run(stack, list(profile.concurrencies), profile.ack_samples)
        _say("ack latency done")
        figures["side_by_side"] = side_by_side.run(stack, profile.side_people, profile.side_rounds)
        _say("side by side (floor, naive) done")
        figures["socket_mode"] = socket_mode.run(
            stack,
            profile.socket_samples,
            profile.socket_reconnects,
            profile.socket_silent,
            profile.socket_commands,
        )
        _say("socket mode done")
        figures["approve_to_done"] = approve.run(
            stack, list(profile.approve_latencies), profile.approve_samples
        )
        _say("approve -> done done")
        figures["redis_per_lifecycle"] = redis_trips.run(
            stack, profile.redis_samples, profile.quiet_seconds
        )
        _say("redis round trips done")
        figures["throughput"] = throughput.run(
            stack, profile.throughput_requests, profile.throughput_latency_ms
        )
        _say("throughput done")
        figures["import_rows"] = import_rows.run(
            stack,
            profile.import_rows,
            profile.import_latency_ms,
            profile.import_redis_rows,
            profile.import_memory_rows,
            quiet_seconds=profile.quiet_seconds,
        )
        _say("import rows done")
    with BenchStack(redis_url, tokens.options(profile.workers, profile.token_lifetime)) as stack:
        figures["token_economy"] = tokens.run(stack, profile.token_seconds)
        _say("token economy done")
    with BenchStack(redis_url, keepalive.options(profile.sized_workers)) as stack:
        figures["slack_over_tls"] = keepalive.run(stack, profile.tls_samples)
        _say("approve -> done with Slack over TLS done")
    sized = StackOptions(
        workers=profile.sized_workers, worker_concurrency=profile.sized_concurrency
    )
    with BenchStack(redis_url, sized) as stack:
        figures["throughput_sized"] = throughput.run(
            stack, profile.throughput_requests, profile.throughput_latency_ms
        )
        _say("throughput (sized concurrency) done")
    return figures


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _say(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)

"""Standalone against cluster, side by side: Redis round trips and commands per approval
(the Approve click to the request done), and slash-command ack latency (p50, p99).

    python -m bench.redis_modes [--samples 20] [--ack-samples 60]

The same BenchStack (web and worker processes, the sandbox, the Slack stand-in) runs once
on one redis-server and once on a Redis Cluster of 3 primaries with a replica each
(tests/redis_topologies.py, Debian's redis-server). In cluster mode every primary is
counted (commandstats summed; MONITOR on each), and the work's primary is the one the
bench's own client watches. The workers' idle polling is measured over a quiet window
first and subtracted. On a shared machine the figures are noisy: compare them, do not
quote them alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import redis

from bench import ack
from bench.approve import filed_and_waiting, wait_finished
from bench.redis_trips import SETTLE, Monitor, commandstats
from bench.stack import BenchStack, StackOptions
from bot.storage import RedisServer, keys
from tests.redis_topologies import Topology, start_cluster

QUIET_SECONDS = 2.0


def measure(redis_url: str, nodes: list[str], env: dict[str, str], args: Any) -> dict[str, Any]:
    options = StackOptions(workers=2, bot_env=env)
    with BenchStack(redis_url, options) as stack:
        clients = [redis.Redis.from_url(url, decode_responses=True) for url in nodes]
        monitors = [Monitor(url).start() for url in nodes]
        try:
            approve_once(stack)  # warm-up: connections, token, script caches
            rate, trip_rate = idle(clients, monitors)
            runs = [
                approval(stack, clients, monitors, rate, trip_rate) for _ in range(args.samples)
            ]
            acks = ack.run(stack, [1, 10], args.ack_samples)
        finally:
            for monitor in monitors:
                monitor.close()
            for client in clients:
                client.close()
    return {
        "samples": len(runs),
        "commands_per_approval": round(statistics.median(c for c, _ in runs), 1),
        "round_trips_per_approval": round(statistics.median(t for _, t in runs), 1),
        "ack": {
            name: {k: cell[k] for k in ("n", "p50_ms", "p99_ms")} for name, cell in acks.items()
        },
    }


def approve_once(stack: BenchStack) -> None:
    ts = filed_and_waiting(stack)
    stack.approve(stack.drivers(1)[0], ts)
    wait_finished(stack, ts)


def stats(clients: list[redis.Redis]) -> Counter[str]:
    total: Counter[str] = Counter()
    for client in clients:
        total.update(commandstats(client))
    return total


def trips(monitors: list[Monitor], start: float, end: float) -> int:
    return sum(monitor.round_trips(start, end) for monitor in monitors)


def idle(clients: list[redis.Redis], monitors: list[Monitor]) -> tuple[float, float]:
    before, started = stats(clients), time.time()
    time.sleep(QUIET_SECONDS)
    after, ended = stats(clients), time.time()
    return sum((after - before).values()) / (ended - started), trips(monitors, started, ended) / (
        ended - started
    )


def approval(
    stack: BenchStack,
    clients: list[redis.Redis],
    monitors: list[Monitor],
    rate: float,
    trip_rate: float,
) -> tuple[float, float]:
    ts = filed_and_waiting(stack)
    time.sleep(SETTLE)
    before, started = stats(clients), time.time()
    stack.approve(stack.drivers(1)[0], ts)
    wait_finished(stack, ts)
    time.sleep(SETTLE)
    after, ended = stats(clients), time.time()
    window = ended - started
    commands = sum((after - before).values()) - rate * window
    return commands, trips(monitors, started, ended) - trip_rate * window


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.redis_modes", description=__doc__)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--ack-samples", type=int, default=60)
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as scratch:
        server = RedisServer(Path(scratch) / "redis")
        url = server.start()
        try:
            figures["standalone"] = measure(url, [url], {}, args)
        finally:
            server.stop()
        cluster: Topology = start_cluster(Path(scratch) / "cluster")
        try:
            work = f"redis://{cluster.primary(keys.WORK_STREAM)}"
            nodes = [f"redis://127.0.0.1:{port}" for port in cluster.primaries()]
            figures["cluster"] = measure(work, nodes, {"REDIS_MODE": "cluster"}, args)
        finally:
            cluster.stop()
    json.dump(figures, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

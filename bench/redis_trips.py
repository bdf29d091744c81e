"""Redis work per request lifecycle (filed -> approved -> done), one request at a time.

Two counts per stage:
* `commands`: INFO commandstats deltas (what the brief asks for). Redis counts every
  command a Lua script runs and every command inside MULTI/EXEC, so this is an upper
  bound on round trips.
* `round_trips`: the same window seen through MONITOR, counting what clients sent:
  script-internal calls left out, each MULTI...EXEC block counted once.

The workers are paused (SIGSTOP) while the request is filed and approved, so those two
stages hold only the web process's work; the "done" stage has the idle polling of the
workers (XREADGROUP with BLOCK 500) subtracted, measured beforehand over a quiet window.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import redis

from bench.approve import filed_and_waiting, wait_finished
from bench.stack import APPROVALS, BenchStack, poll

IGNORED = {"info", "monitor"}  # the benchmark's own probes
SETTLE = 0.25  # seconds for trailing work (the message update, the stream ack) to land
STAGES = ("filed", "approved", "done")


@dataclass
class Monitor:
    """MONITOR in a daemon thread; keeps (unix time, client, kind, command name)."""

    url: str
    seen: list[tuple[float, str, str, str]] = field(default_factory=list)

    def start(self) -> Monitor:
        self._client = redis.Redis.from_url(self.url, decode_responses=True)
        self._monitor = self._client.monitor()
        self._monitor.__enter__()
        threading.Thread(target=self._listen, name="redis-monitor", daemon=True).start()
        return self

    def _listen(self) -> None:
        try:
            for item in self._monitor.listen():
                name = item["command"].split(" ", 1)[0].lower()
                client = f"{item['client_address']}:{item['client_port']}"
                self.seen.append((float(item["time"]), client, item["client_type"], name))
        except (redis.RedisError, OSError, ValueError):
            return  # closed at the end of the phase

    def close(self) -> None:
        try:
            self._monitor.connection.disconnect()
        finally:
            self._client.close()

    def round_trips(self, start: float, end: float) -> int:
        trips, open_multi = 0, set[str]()
        for when, client, kind, name in self.seen:
            if not start <= when < end or kind == "lua" or name in IGNORED:
                continue
            if client in open_multi:  # inside MULTI: part of the same round trip
                if name in ("exec", "discard"):
                    open_multi.discard(client)
                continue
            if name == "multi":
                open_multi.add(client)
            trips += 1
        return trips


def commandstats(client: redis.Redis) -> Counter[str]:
    stats = client.info("commandstats")
    return Counter(
        {
            name.removeprefix("cmdstat_"): int(value["calls"])
            for name, value in stats.items()
            if name.removeprefix("cmdstat_") not in IGNORED
        }
    )


def run(stack: BenchStack, samples: int, quiet_seconds: float) -> dict[str, Any]:
    monitor = Monitor(stack.redis_url).start()
    try:
        rate, trip_rate = _background(stack, monitor, quiet_seconds)
        filed_and_waiting_done(stack)  # warm-up: connections, token, caches
        runs = [_lifecycle(stack, monitor, rate, trip_rate) for _ in range(samples)]
    finally:
        monitor.close()
        for worker in stack.workers:
            worker.resume()
    return _summarise(runs, rate)


def filed_and_waiting_done(stack: BenchStack) -> None:
    ts = filed_and_waiting(stack)
    stack.approve(stack.drivers(1)[0], ts)
    wait_finished(stack, ts)


def _background(
    stack: BenchStack, monitor: Monitor, seconds: float
) -> tuple[dict[str, float], float]:
    before, started = commandstats(stack.redis), time.time()
    time.sleep(seconds)
    after, ended = commandstats(stack.redis), time.time()
    elapsed = ended - started
    rate = {name: count / elapsed for name, count in (after - before).items()}
    return rate, monitor.round_trips(started, ended) / elapsed


def _lifecycle(
    stack: BenchStack, monitor: Monitor, rate: dict[str, float], trip_rate: float
) -> dict[str, Any]:
    marks = [time.time()]
    snaps = [commandstats(stack.redis)]
    for worker in stack.workers:
        worker.pause()
    ts = filed_and_waiting(stack)
    time.sleep(SETTLE)
    marks.append(time.time())
    snaps.append(commandstats(stack.redis))
    stack.approve(stack.drivers(1)[0], ts)
    poll(lambda: _status(stack, ts) == "approved", 15, 0.005, "approved status")
    time.sleep(SETTLE)
    marks.append(time.time())
    snaps.append(commandstats(stack.redis))
    for worker in stack.workers:
        worker.resume()
    wait_finished(stack, ts)
    time.sleep(SETTLE)
    marks.append(time.time())
    snaps.append(commandstats(stack.redis))
    return _stages(snaps, marks, monitor, rate, trip_rate)


def _stages(
    snaps: list[Counter[str]],
    marks: list[float],
    monitor: Monitor,
    rate: dict[str, float],
    trip_rate: float,
) -> dict[str, Any]:
    stages: dict[str, Any] = {}
    for index, stage in enumerate(STAGES):
        delta = snaps[index + 1] - snaps[index]
        trips = float(monitor.round_trips(marks[index], marks[index + 1]))
        if stage == "done":  # the workers' idle polling over the same window
            window = marks[index + 1] - marks[index]
            delta = Counter(
                {name: count - rate.get(name, 0.0) * window for name, count in delta.items()}
            )
            trips -= trip_rate * window
        stages[stage] = {"commands": dict(delta), "round_trips": trips}
    return stages


def _status(stack: BenchStack, ts: str) -> str | None:
    message = stack.standin.message(APPROVALS, ts)
    payload = (message.metadata or {}).get("event_payload") if message else None
    return (payload or {}).get("status")


def _summarise(runs: list[dict[str, Any]], rate: dict[str, float]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "samples": len(runs),
        "stages": {},
        "idle_commands_per_second": {k: round(v, 2) for k, v in rate.items() if v},
    }
    for stage in STAGES:
        names = sorted({name for run in runs for name in run[stage]["commands"]})
        per_command = {
            name: round(statistics.median(run[stage]["commands"].get(name, 0) for run in runs))
            for name in names
        }
        result["stages"][stage] = {
            "commands": round(
                statistics.median(sum(run[stage]["commands"].values()) for run in runs)
            ),
            "round_trips": round(statistics.median(run[stage]["round_trips"] for run in runs)),
            "per_command": {name: count for name, count in per_command.items() if count},
        }
    stages = result["stages"]
    result["commands_total"] = sum(stages[s]["commands"] for s in STAGES)
    result["round_trips_total"] = sum(stages[s]["round_trips"] for s in STAGES)
    return result

"""Socket Mode next to HTTP: ack latency in both modes, and how long Slack's people wait
after the connection breaks.

The bench stack's HTTP `python -m bot web` keeps serving; beside it this starts a second
one in Socket Mode (SLACK_APP_TOKEN, HEALTH_PORT), connected to the stand-in's Socket Mode
server, on the same Redis, sandbox and workers. Both modes are timed the same way, from
this process (Socket Mode's acks can only be read here, where the stand-in's socket ends):
`/community <command>` sent, ack read. So the HTTP figures here are a little slower than
bench/ack.py's, which sends from processes of their own; compare the two modes with each
other. Rounds alternate between the modes, so a busier moment of the shared machine falls
on both.

Reconnection: the socket dropped without a word (or Slack's `disconnect`, or a connection
gone silent), then `/community help` on the bot's new connection: the time from the fault
to its ack. The bot runs its production ping interval.
"""

from __future__ import annotations

import math
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.ack import COMMANDS
from bench.procs import BotProcess, wait_until
from bench.stack import HR_USERS, BenchStack
from bench.stats import summary_ms
from bot.runtime.socket_mode import PING_INTERVAL
from bot.slack_standin import DriverResult, SlackDriver
from bot.storage.redis_server import free_port

APP_TOKEN = "xapp-1-A0BENCH-1-bench"
CONCURRENCIES = (1, 20)
RATIO_TARGET = 1.2  # Socket Mode's ack p50 and p99 within 1.2x of HTTP's
RECONNECT_TARGET_S = 5.0  # dropped socket -> first answered command


def run(
    stack: BenchStack, samples: int, reconnects: int, silent: int, commands: tuple[str, ...]
) -> dict[str, Any]:
    standin = stack.standin
    standin.socket_mode.enable(APP_TOKEN)
    with tempfile.TemporaryDirectory(prefix="bench-socket-") as workdir:
        health_port = free_port()
        bot = BotProcess(
            "socket",
            ["web"],
            stack.bot_env(SLACK_APP_TOKEN=APP_TOKEN, HEALTH_PORT=str(health_port)),
            Path(workdir),
        )
        socket_driver = SlackDriver(standin, "", "unused", transport="socket", timeout=30)
        try:
            wait_until(lambda: _healthy(health_port), "socket mode /healthz", bot)
            acks = {
                name: _ack_cells(stack, socket_driver, COMMANDS[name], samples) for name in commands
            }
            recovery = {
                "drop": _reconnects(stack, socket_driver, "drop", reconnects),
                "disconnect": _reconnects(stack, socket_driver, "disconnect", reconnects),
            }
            if silent:
                recovery["silent"] = _reconnects(stack, socket_driver, "go_silent", silent)
            return {
                "ack": acks,
                "reconnect": recovery,
                "ping_interval_s": PING_INTERVAL,
                "targets": _targets(acks, recovery),
            }
        finally:
            socket_driver.close()
            bot.stop()


def _healthy(port: int) -> bool:
    try:
        reply = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.TransportError:
        return False
    return reply.status_code == 200 and reply.json().get("socket") == "ok"


# Ack latency ---------------------------------------------------------------------------------


def _ack_cells(
    stack: BenchStack, socket_driver: SlackDriver, command: tuple[str, str], samples: int
) -> dict[str, Any]:
    text, after = command
    cells: dict[str, Any] = {}
    for concurrency in CONCURRENCIES:
        http_drivers = stack.drivers(concurrency)
        timings: dict[str, list[float]] = {"http": [], "socket": []}
        failures = {"http": 0, "socket": 0}
        rounds = max(1, math.ceil(samples / concurrency))
        for number in range(rounds + 1):  # round 0 warms both paths up, unmeasured
            for mode in ("http", "socket"):
                drivers = http_drivers if mode == "http" else [socket_driver] * concurrency
                results = _round(stack, drivers, text, after)
                if number:
                    timings[mode] += [r.elapsed for r in results if r.ok]
                    failures[mode] += sum(1 for r in results if not r.ok)
        http, socket = summary_ms(timings["http"]), summary_ms(timings["socket"])
        cells[str(concurrency)] = {
            "command": f"/community {text}",
            "concurrency": concurrency,
            "http": {**http, "failures": failures["http"]},
            "socket": {**socket, "failures": failures["socket"]},
            "ratio_p50": _ratio(socket["p50_ms"], http["p50_ms"]),
            "ratio_p99": _ratio(socket["p99_ms"], http["p99_ms"]),
        }
    return cells


def _round(
    stack: BenchStack, drivers: list[SlackDriver], text: str, after: str
) -> list[DriverResult]:
    """One command per driver, all released at once; then the bot's post-ack work drains."""
    stack.standin.reset()
    start = threading.Barrier(len(drivers))
    results: list[DriverResult | None] = [None] * len(drivers)

    def send(index: int, driver: SlackDriver, user: str) -> None:
        start.wait()
        results[index] = driver.command(user, text)

    threads = [
        threading.Thread(target=send, args=(i, driver, user))
        for i, (driver, user) in enumerate(zip(drivers, HR_USERS, strict=False))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = [r for r in results if r is not None]
    _drain(stack, after, sum(1 for r in done if r.ok))
    return done


def _drain(stack: BenchStack, after: str, count: int) -> None:
    standin = stack.standin
    if after == "response":
        standin.wait_for(lambda: len(standin.responses) >= count, timeout=60)
    else:
        standin.wait_for(lambda: len(standin.calls_to(after)) >= count, timeout=60)


def _ratio(value: float, base: float) -> float:
    return round(value / base, 2) if base > 0 and not math.isnan(value) else math.nan


# Reconnection --------------------------------------------------------------------------------


def _reconnects(stack: BenchStack, driver: SlackDriver, fault: str, trials: int) -> dict[str, Any]:
    """Fault; as soon as the bot has a new connection, /community help: seconds from the
    fault to its ack. (A command sent into a silent connection is lost, as it would be with
    Slack, so it is sent on the new one.)"""
    socket_mode = stack.standin.socket_mode
    seconds: list[float] = []
    failures = 0
    for _ in range(trials):
        stack.standin.reset()
        before = socket_mode.wait_ready(timeout=30)
        started = time.perf_counter()
        getattr(socket_mode, fault)()
        try:
            socket_mode.wait_ready(after=before.number, timeout=60)
        except TimeoutError:
            failures += 1
            continue
        result = driver.command(HR_USERS[0], "help")
        if result.ok:
            seconds.append(time.perf_counter() - started)
        else:
            failures += 1
    summary = summary_ms(seconds)
    return {
        "n": summary["n"],
        "failures": failures,
        "median_s": round(_median(seconds), 2),
        "max_s": round(max(seconds), 2) if seconds else math.nan,
    }


def _median(values: list[float]) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


# Targets and the table -----------------------------------------------------------------------


def _targets(acks: dict[str, Any], recovery: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, cells in acks.items():
        for concurrency, cell in cells.items():
            worst = max(cell["ratio_p50"], cell["ratio_p99"])
            clean = cell["http"]["failures"] == cell["socket"]["failures"] == 0
            found[f"socket/http ack {name}@{concurrency}"] = {
                "value": worst,
                "target": f"<= {RATIO_TARGET:g}x (p50 and p99)",
                "met": bool(clean and worst <= RATIO_TARGET),
            }
    drop = recovery["drop"]
    found["dropped socket -> answered"] = {
        "value": drop["max_s"],
        "target": f"< {RECONNECT_TARGET_S:g} s (every trial)",
        "met": bool(drop["failures"] == 0 and drop["max_s"] < RECONNECT_TARGET_S),
    }
    return found


def render(figures: dict[str, Any]) -> str:
    lines = ["Socket Mode next to HTTP (both timed from the benchmark process)", ""]
    lines.append(
        f"{'ack':<28} {'HTTP p50/p99 ms':>18} {'Socket p50/p99 ms':>19} {'ratio p50/p99':>14}"
    )
    for cells in figures["ack"].values():
        for cell in cells.values():
            http, socket = cell["http"], cell["socket"]
            lines.append(
                f"{cell['command'] + ' @' + str(cell['concurrency']):<28} "
                f"{http['p50_ms']:>8.1f} /{http['p99_ms']:>7.1f} "
                f"{socket['p50_ms']:>9.1f} /{socket['p99_ms']:>7.1f} "
                f"{cell['ratio_p50']:>7.2f} /{cell['ratio_p99']:>5.2f}"
            )
    lines += [
        "",
        f"fault -> first answered command (ping interval {figures['ping_interval_s']:g} s)",
    ]
    for fault, cell in figures["reconnect"].items():
        lines.append(
            f"  {fault:<12} median {cell['median_s']:.2f} s, max {cell['max_s']:.2f} s "
            f"(n={cell['n']}, failures {cell['failures']})"
        )
    lines += [""] + [
        f"  {'met ' if t['met'] else 'MISS'} {name}: {t['value']} (target {t['target']})"
        for name, t in figures["targets"].items()
    ]
    return "\n".join(lines)

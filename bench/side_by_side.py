"""Ours next to the floor and a naive bot (bench/baselines.py), under the same load.

20 people act at once, for 3 rounds: `/community add`, the Add modal's submission, a
manager's Approve, `/community credit`. Each batch goes to ours first (and we wait until its
post-ack work is done: modals open, approval messages posted, members created, credit
answered), then the same kind of batch to the floor and to the naive bot, so the three
never share the CPU at once but do share the minute. The requests are sent from separate
sender processes, as in bench/ack.py; every bot gets the same signed bodies (the
submissions and clicks are the ones ours produced; slash commands get fresh trigger IDs).

The targets (issue 23): every kind's p99 at most 1.5x the floor's slash-command p99, and
at most 0.5x the naive bot's p99 of the same kind.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import httpx

from bench.ack import SENDER_PROCESSES, send_batch
from bench.approve import OPEN_STATUSES
from bench.procs import wait_until
from bench.stack import (
    APPROVALS,
    COMMUNITY,
    HR_USERS,
    MANAGER,
    STANDIN_TOKEN,
    BenchStack,
    FreshConnectionDriver,
    _clean_environment,
)
from bench.stats import percentile, summary_ms
from bot.runtime.settings import DEFAULT_SANDBOX_CLIENT_ID, DEFAULT_SANDBOX_CLIENT_SECRET
from bot.slack_standin import DriverResult
from bot.storage.redis_server import free_port

BOTS = ("ours", "floor", "naive")
KINDS = ("add", "submission", "approve", "credit")
LABELS = {
    "add": "/community add",
    "submission": "Add modal submission",
    "approve": "Approve",
    "credit": "/community credit",
}
SLASH = ("add", "credit")
FLOOR_FACTOR = 1.5  # every kind's p99 <= this x the floor's slash-command p99
NAIVE_FACTOR = 0.5  # every kind's p99 <= this x the naive bot's p99 of that kind

Request = tuple[bytes, dict[str, str]]


class CapturingDriver(FreshConnectionDriver):
    """Builds and signs what the driver would send, and keeps it instead of sending it
    (answering an empty 200, which closes a modal in the stand-in as Slack would)."""

    captured: list[Request]

    def send(  # type: ignore[override]
        self, body: bytes, content_type: str, *args: Any, **kwargs: Any
    ) -> DriverResult:
        stamp = str(int(time.time()))
        self.captured.append(
            (
                body,
                {
                    "Content-Type": content_type,
                    "X-Slack-Request-Timestamp": stamp,
                    "X-Slack-Signature": self.sign(body, stamp),
                },
            )
        )
        return DriverResult(200, 0.0, "", None)


def run(stack: BenchStack, people: int = 20, rounds: int = 3) -> dict[str, Any]:
    urls = {"ours": f"{stack.bot_url}/slack/events", **_start_baselines(stack)}
    users = HR_USERS[:people]
    capture = CapturingDriver(stack.standin, urls["ours"], stack.signing_secret)
    capture.captured = []
    timings: dict[str, dict[str, list[float]]] = {bot: {k: [] for k in KINDS} for bot in BOTS}
    failures = dict.fromkeys(BOTS, 0)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(SENDER_PROCESSES, mp_context=spawn) as senders:

        def fire(bot: str, kind: str, requests: list[Request], measured: bool) -> None:
            answers = _fire(senders, urls[bot], requests)
            if measured:
                timings[bot][kind] += [elapsed for status, elapsed, _ in answers if status == 200]
                failures[bot] += sum(1 for status, _, _ in answers if status != 200)

        for number in range(rounds + 1):  # round 0 warms every bot up, unmeasured
            measured = number > 0
            stack.standin.reset()
            # /community add: ours opens a modal per person after the ack.
            commands = {bot: _commands(capture, users, "add") for bot in BOTS}
            fire("ours", "add", commands["ours"], measured)
            views = [
                stack.standin.wait_for(
                    lambda user=user: stack.standin.open_view(user), 30, f"add modal for {user}"
                )
                for user in users
            ]
            capture.captured = []
            emails = [stack.new_email() for _ in users]
            for user, view, email in zip(users, views, emails, strict=True):
                capture.fill_and_submit(
                    user,
                    view["id"],
                    {"first_name": "Side", "last_name": "Bench", "email": email, "credit": "10"},
                )
            submissions = list(capture.captured)
            for bot in ("floor", "naive"):
                fire(bot, "add", commands[bot], measured)
            # The submissions: ours files each request and posts its approval message.
            fire("ours", "submission", submissions, measured)
            pending = stack.standin.wait_for(
                lambda: len(stack.pending_approvals()) >= len(users) or None,
                60,
                "approval messages",
            )
            assert pending
            capture.captured = []
            for ts, _ in stack.pending_approvals():
                capture.click(MANAGER, "Approve", channel=APPROVALS, ts=ts)
            approvals = list(capture.captured)
            for bot in ("floor", "naive"):
                fire(bot, "submission", submissions, measured)
            # Approve: ours decides in the ack's lazy part, a worker creates the member.
            fire("ours", "approve", approvals, measured)
            stack.standin.wait_for(lambda: _all_final(stack), 60, "approved requests done")
            for bot in ("floor", "naive"):
                fire(bot, "approve", approvals, measured)
            # /community credit of the members just created.
            stack.standin.reset()
            commands = {
                bot: [
                    _signed(capture, user, f"credit {email}")
                    for user, email in zip(users, emails, strict=True)
                ]
                for bot in BOTS
            }
            fire("ours", "credit", commands["ours"], measured)
            stack.standin.wait_for(
                lambda: len(stack.standin.responses) >= len(users), 60, "credit answers"
            )
            for bot in ("floor", "naive"):
                fire(bot, "credit", commands[bot], measured)
    return _figures(timings, failures, people, rounds)


def _commands(capture: CapturingDriver, users: list[str], text: str) -> list[Request]:
    return [_signed(capture, user, text) for user in users]


def _signed(capture: CapturingDriver, user: str, text: str) -> Request:
    prepared = capture.prepare_command(user, text)
    return prepared.body, prepared.headers


def _fire(senders: ProcessPoolExecutor, url: str, requests: list[Request]) -> list[Any]:
    start_at = time.time() + 0.02
    batches = [requests[i::SENDER_PROCESSES] for i in range(SENDER_PROCESSES)]
    futures = [senders.submit(send_batch, url, batch, start_at) for batch in batches if batch]
    answers: list[Any] = []
    for future in futures:
        answers += future.result()
    return answers


def _all_final(stack: BenchStack) -> bool:
    statuses = [
        ((m.metadata or {}).get("event_payload") or {}).get("status")
        for m in stack.standin.messages(APPROVALS)
        if m.thread_ts in (None, m.ts)
    ]
    return bool(statuses) and not any(s in OPEN_STATUSES for s in statuses)


def _start_baselines(stack: BenchStack) -> dict[str, str]:
    env = _clean_environment()
    env["BENCH_SIGNING_SECRET"] = stack.signing_secret
    urls = {}
    for kind in ("floor", "naive"):
        port = free_port()
        args = [kind, "--port", str(port), "--slack-url", stack.standin.api_url]
        args += ["--slack-token", STANDIN_TOKEN]
        if kind == "naive":
            args += [
                "--sandbox",
                stack.sandbox_root,
                "--client-id",
                DEFAULT_SANDBOX_CLIENT_ID,
                "--client-secret",
                DEFAULT_SANDBOX_CLIENT_SECRET,
                "--community",
                COMMUNITY,
            ]
        proc = stack.spawn(kind, args, env, module="bench.baselines")
        root = f"http://127.0.0.1:{port}"
        wait_until(lambda root=root: _up(root), f"{kind} app", proc)
        urls[kind] = f"{root}/slack/events"
    return urls


def _up(root: str) -> bool:
    try:
        return httpx.get(f"{root}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _figures(
    timings: dict[str, dict[str, list[float]]],
    failures: dict[str, int],
    people: int,
    rounds: int,
) -> dict[str, Any]:
    cells = {bot: {kind: summary_ms(timings[bot][kind]) for kind in KINDS} for bot in BOTS}
    floor_slash = [t for kind in SLASH for t in timings["floor"][kind]]
    floor_p99 = round(percentile(floor_slash, 99) * 1000, 2)
    ours_all = [t for kind in KINDS for t in timings["ours"][kind]]
    naive_all = [t for kind in KINDS for t in timings["naive"][kind]]
    ratios = {
        kind: {
            "to_floor_slash_p99": _ratio(cells["ours"][kind]["p99_ms"], floor_p99),
            "to_naive_p99": _ratio(cells["ours"][kind]["p99_ms"], cells["naive"][kind]["p99_ms"]),
        }
        for kind in KINDS
    }
    return {
        "people": people,
        "rounds": rounds,
        "failures": failures,
        "cells": cells,
        "floor_slash_p99_ms": floor_p99,
        "all_requests": {
            "to_naive_p50": _ratio(percentile(ours_all, 50), percentile(naive_all, 50)),
            "to_naive_p99": _ratio(percentile(ours_all, 99), percentile(naive_all, 99)),
        },
        "ratios": ratios,
    }


def _ratio(value: float, base: float) -> float | None:
    return round(value / base, 2) if base else None


def verdicts(cell: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    ok = cell["failures"]["ours"] == 0
    for kind in KINDS:
        ratio = cell["ratios"][kind]
        found[f"side by side: {kind} p99 vs floor slash-command p99"] = {
            "value": ratio["to_floor_slash_p99"],
            "target": f"<= {FLOOR_FACTOR:g}x",
            "met": bool(ok and ratio["to_floor_slash_p99"] is not None)
            and ratio["to_floor_slash_p99"] <= FLOOR_FACTOR,
        }
        found[f"side by side: {kind} p99 vs naive p99"] = {
            "value": ratio["to_naive_p99"],
            "target": f"<= {NAIVE_FACTOR:g}x",
            "met": bool(ok and ratio["to_naive_p99"] is not None)
            and ratio["to_naive_p99"] <= NAIVE_FACTOR,
        }
    return found


def render(cell: dict[str, Any]) -> list[str]:
    lines = [
        f"Side by side: {cell['people']} people at once, {cell['rounds']} rounds "
        "(ack latency, p50 / p99 ms; ratios of our p99)",
        f"  {'request':<22}{'ours':>16}{'floor':>16}{'naive':>16}{'/floor slash':>14}{'/naive':>9}",
    ]
    for kind in KINDS:
        row = "".join(
            f"{c['p50_ms']:>8.1f} /{c['p99_ms']:>6.1f}"
            for c in (cell["cells"][bot][kind] for bot in BOTS)
        )
        ratio = cell["ratios"][kind]
        lines.append(
            f"  {LABELS[kind]:<22}{row}{_x(ratio['to_floor_slash_p99']):>14}"
            f"{_x(ratio['to_naive_p99']):>9}"
        )
    every = cell["all_requests"]
    lines.append(
        f"  floor slash-command p99 {cell['floor_slash_p99_ms']:.1f} ms; all requests: ours "
        f"{_x(every['to_naive_p50'])} naive at p50, {_x(every['to_naive_p99'])} at p99; "
        f"failures {cell['failures']}"
    )
    return lines


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def readme_table(cell: dict[str, Any]) -> list[str]:
    """The README's side-by-side table (markdown), with the verdicts."""
    found = verdicts(cell)
    lines = [
        f"Side by side, {cell['people']} people at once, {cell['rounds']} rounds: ack "
        "latency p50 / p99 in ms; the floor is Bolt that only acks, on the same server "
        f"(its slash-command p99: {cell['floor_slash_p99_ms']:.1f} ms).",
        "",
        "| request | ours | floor | naive | ours p99 ÷ floor slash p99 "
        f"(≤ {FLOOR_FACTOR:g}×) | ours p99 ÷ naive p99 (≤ {NAIVE_FACTOR:g}×) |",
        "|---|---|---|---|---|---|",
    ]
    for kind in KINDS:
        cells = " | ".join(
            f"{cell['cells'][bot][kind]['p50_ms']:.0f} / {cell['cells'][bot][kind]['p99_ms']:.0f}"
            for bot in BOTS
        )
        floor = found[f"side by side: {kind} p99 vs floor slash-command p99"]
        naive = found[f"side by side: {kind} p99 vs naive p99"]
        lines.append(
            f"| {LABELS[kind]} | {cells} | {_x(floor['value'])}: "
            f"{'met' if floor['met'] else 'missed'} | {_x(naive['value'])}: "
            f"{'met' if naive['met'] else 'missed'} |"
        )
    return lines

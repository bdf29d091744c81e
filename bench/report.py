"""Targets, and the table printed at the end of a run."""

from __future__ import annotations

from typing import Any

ACK_TARGETS_MS = {20: 50.0, 100: 250.0}
OVERHEAD_TARGET_MS = 100.0
THROUGHPUT_TARGET = 1.3


def verdicts(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for key, cell in report["ack_latency"].items():
        limit = ACK_TARGETS_MS.get(cell["concurrency"])
        if limit is not None:
            found[f"ack p99 {key}"] = _check(cell["p99_ms"], limit, "ms", cell["failures"] == 0)
    for key, cell in report["approve_to_done"].items():
        found[f"approve overhead p99 {key}"] = _check(
            cell["overhead"]["p99_ms"], OVERHEAD_TARGET_MS, "ms"
        )
    tokens = report["token_economy"]
    found["token requests = token lifetimes"] = _tokens(tokens)
    for key in ("throughput", "throughput_sized"):
        cell = report[key]
        found[f"{key} ratio to ideal ({cell['total_worker_concurrency']} concurrent)"] = _check(
            cell["ratio_to_ideal"], THROUGHPUT_TARGET, "x"
        )
    return found


def _check(value: float, limit: float, unit: str, ok: bool = True) -> dict[str, Any]:
    met = ok and value < limit if unit == "ms" else ok and value <= limit
    return {
        "value": value,
        "target": f"{'<' if unit == 'ms' else '<='} {limit:g} {unit}",
        "met": bool(met),
    }


def _tokens(tokens: dict[str, Any]) -> dict[str, Any]:
    value, lifetimes = tokens["token_requests"], tokens["token_lifetimes_in_run"]
    early = tokens["expected_with_early_renewal"]
    note = (
        "equal to the lifetimes in the run"
        if value <= lifetimes
        else f"one per lifetime less the 10% early-renewal margin ({early} expected)"
        if value <= early
        else "more than one per lifetime"
    )
    return {
        "value": value,
        "target": f"= {lifetimes} (lifetimes in the run)",
        "met": value <= lifetimes,
        "note": note,
    }


def render(report: dict[str, Any]) -> str:
    lines = [
        f"profile {report['profile']['name']}, {report['seconds']} s, "
        f"{report['machine']['nproc']} CPU {report['machine']['cpu_model']}, "
        f"Python {report['machine']['python']}",
        "",
    ]
    lines += _ack_table(report["ack_latency"]) + [""]
    lines += _approve_table(report["approve_to_done"]) + [""]
    lines += _redis_table(report["redis_per_lifecycle"]) + [""]
    lines += _misc(report) + [""]
    lines += ["Targets:"] + [
        f"  {'MET   ' if v['met'] else 'MISSED'} {name}: {v['value']} (target {v['target']})"
        + (f" - {v['note']}" if v.get("note") else "")
        for name, v in report["targets"].items()
    ]
    return "\n".join(lines)


def _ack_table(cells: dict[str, Any]) -> list[str]:
    lines = [
        "Slash-command ack latency (driver round trip)",
        f"  {'command':<36}{'conc':>6}{'n':>7}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'fail':>6}",
    ]
    for cell in cells.values():
        lines.append(
            f"  {cell['command']:<36}{cell['concurrency']:>6}{cell['n']:>7}"
            f"{cell['p50_ms']:>9.1f}{cell['p99_ms']:>9.1f}{cell['max_ms']:>9.1f}"
            f"{cell['failures']:>6}"
        )
    return lines


def _approve_table(cells: dict[str, Any]) -> list[str]:
    lines = [
        "Approve click -> member created at the sandbox",
        f"  {'sandbox latency':<18}{'n':>5}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'overhead p50':>14}{'overhead p99':>14}",
    ]
    for cell in cells.values():
        total, extra = cell["click_to_member"], cell["overhead"]
        lines.append(
            f"  {cell['sandbox_latency_ms']:>6} ms{'':<9}{total['n']:>5}"
            f"{total['p50_ms']:>9.1f}{total['p99_ms']:>9.1f}"
            f"{extra['p50_ms']:>14.1f}{extra['p99_ms']:>14.1f}"
        )
    return lines


def _redis_table(redis_figures: dict[str, Any]) -> list[str]:
    lines = [
        f"Redis per request lifecycle (median of {redis_figures['samples']})",
        f"  {'stage':<10}{'commands':>10}{'round trips':>13}  per command",
    ]
    for stage, cell in redis_figures["stages"].items():
        detail = " ".join(f"{name}={count}" for name, count in cell["per_command"].items())
        lines.append(f"  {stage:<10}{cell['commands']:>10}{cell['round_trips']:>13}  {detail}")
    lines.append(
        f"  {'total':<10}{redis_figures['commands_total']:>10}"
        f"{redis_figures['round_trips_total']:>13}"
    )
    return lines


def _misc(report: dict[str, Any]) -> list[str]:
    t = report["token_economy"]
    return [
        f"Token economy: {t['token_requests']} token requests for {t['api_calls']} API calls "
        f"({t['token_requests_per_1000_calls']} per 1,000) across {t['worker_processes']} "
        f"workers + web, lifetime {t['token_lifetime_s']} s over {t['run_seconds']} s "
        f"({t['token_lifetimes_in_run']} lifetimes; {t['expected_with_early_renewal']} "
        "with the early-renewal margin)",
        *(
            _throughput(label, report[key])
            for label, key in (
                ("Throughput (capacity)", "throughput"),
                ("Throughput (sized)", "throughput_sized"),
            )
        ),
    ]


def _throughput(label: str, w: dict[str, Any]) -> str:
    return (
        f"{label}: {w['requests']} approved requests in {w['seconds']} s = "
        f"{w['per_second']}/s at {w['sandbox_latency_ms']} ms sandbox latency; ideal "
        f"{w['ideal_per_second']}/s ({w['total_worker_concurrency']} concurrent calls), "
        f"ratio {w['ratio_to_ideal']}x"
    )

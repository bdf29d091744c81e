"""Targets, the table printed at the end of a run, and the README's figures.

The README's benchmark table is written from a run's JSON (`python -m bench --readme`),
never typed: `readme_block` turns a report into the text between the README's
`<!-- bench:start -->` and `<!-- bench:end -->` markers, and the JSON it came from is kept
as bench/figures.json, so a test can tell the two apart as soon as one changes.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

from bench import keepalive, side_by_side

FIGURES = Path(__file__).resolve().parent / "figures.json"
# The figures live in docs/benchmarks.md (the README links there); the name stays README.
README = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
# The project's README shows the side-by-side table only (issue 23), between its markers.
FRONT_README = Path(__file__).resolve().parent.parent / "README.md"
_ACK_COMMANDS = ("help", "credit", "add")

ACK_TARGETS_MS = {20: 50.0, 100: 250.0}
OVERHEAD_TARGET_MS = 100.0
THROUGHPUT_TARGET = 1.3
IMPORT_TARGET = 1.15  # an import's elapsed time against rows x latency / concurrency


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
    if "import_rows" in report:
        found.update(_import_verdicts(report["import_rows"]))
    if "side_by_side" in report:
        found.update(side_by_side.verdicts(report["side_by_side"]))
    return found


def _import_verdicts(cell: dict[str, Any]) -> dict[str, dict[str, Any]]:
    gap, every = cell["min_gap_between_updates_s"], cell["progress_seconds"]
    return {
        f"import ratio to ideal ({cell['rows']} rows, {cell['concurrency']} at once)": _check(
            cell["ratio_to_ideal"], IMPORT_TARGET, "x", cell["failed"] == 0
        ),
        "import chat.update at most one per progress interval": {
            "value": gap,
            "target": f">= {every:g} s between two",
            # Redis's PX and the stand-in's clock differ by milliseconds.
            "met": gap is None or gap >= every - 0.05,
        },
    }


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
    if "side_by_side" in report:
        lines += side_by_side.render(report["side_by_side"]) + [""]
    lines += _approve_table(report["approve_to_done"]) + [""]
    if "slack_over_tls" in report:
        lines += [keepalive.render(report["slack_over_tls"]), ""]
    lines += _redis_table(report["redis_per_lifecycle"]) + [""]
    lines += _misc(report) + [""]
    if "import_rows" in report:
        lines += _import_lines(report["import_rows"]) + [""]
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


def _import_lines(cell: dict[str, Any]) -> list[str]:
    redis_cell, memory = cell["redis"], cell["memory"]
    return [
        f"Import: {cell['rows']} rows at {cell['sandbox_latency_ms']} ms sandbox latency, "
        f"{cell['concurrency']} at once over {cell['workers']} workers: {cell['elapsed_s']} s "
        f"(ideal {cell['ideal_s']} s, ratio {cell['ratio_to_ideal']}x, "
        f"{cell['rows_per_s']} rows/s, {cell['failed']} failed)",
        f"  chat.update of its approval message: {cell['chat_updates']}, at least "
        f"{cell['min_gap_between_updates_s']} s apart (throttle {cell['progress_seconds']:g} s)",
        f"  worker CPU: {cell.get('worker_cpu_ms_per_row')} ms per row (every worker process)",
        f"  Redis: {redis_cell['round_trips_per_row']} round trips, "
        f"{redis_cell.get('commands_per_row')} commands per row "
        f"({redis_cell['rows']} rows; idle polling {redis_cell['idle_round_trips_per_s']}/s "
        "subtracted)",
        f"  worker memory over a {memory['rows']}-row import: peak {memory['worker_peak_mb']} MB "
        f"(before: {memory['worker_rss_before_mb']} MB)",
    ]


# The README's figures -------------------------------------------------------------------


def readme_block(report: dict[str, Any]) -> str:
    """The README's benchmark figures for one run: a sentence on the run, then the table."""
    machine, profile = report["machine"], report["profile"]
    load = machine.get("load_average_before")
    busy = f", load average {load:g} before it started" if load is not None else ""
    about = (
        f"Figures from a {profile['name']} run ({report['seconds']:g} s) on "
        f"{machine['nproc']} CPUs ({machine['cpu_model']}{busy}), Python {machine['python']}; "
        "the load generator and the Slack stand-in share those CPUs with the bot. Written by "
        "`python -m bench --readme` from that run's JSON, kept as "
        "[`bench/figures.json`](../bench/figures.json):"
    )
    lines = [
        *textwrap.wrap(about, width=92, break_on_hyphens=False),
        "",
        "| figure | result | target |",
        "|---|---|---|",
        *_ack_rows(report),
        _approve_row(report),
        *([_tls_row(report["slack_over_tls"])] if "slack_over_tls" in report else []),
        _tokens_row(report),
        _redis_row(report["redis_per_lifecycle"]),
        *(_throughput_row(report, key) for key in ("throughput_sized", "throughput")),
        *(_import_rows(report) if "import_rows" in report else []),
    ]
    if "side_by_side" in report:
        lines += ["", *side_by_side.readme_table(report["side_by_side"])]
    return "\n".join(lines) + "\n"


def _import_rows(report: dict[str, Any]) -> list[str]:
    cell, targets = report["import_rows"], report["targets"]
    ratio = targets[f"import ratio to ideal ({cell['rows']} rows, {cell['concurrency']} at once)"]
    throttle = targets["import chat.update at most one per progress interval"]
    gap = cell["min_gap_between_updates_s"]
    apart = f", at least {gap:g} s apart" if gap is not None else ""
    return [
        f"| `/community import` of {cell['rows']:,} rows at {cell['sandbox_latency_ms']} ms "
        f"latency, {cell['concurrency']} at once over {cell['workers']} workers (ideal "
        f"{cell['ideal_s']:g} s) | {cell['elapsed_s']:g} s, {cell['ratio_to_ideal']:g}× ideal | "
        f"≤ {IMPORT_TARGET:g}×: {'met' if ratio['met'] else 'missed'} |",
        f"| chat.update of its approval message (progress) | {cell['chat_updates']} in "
        f"{cell['elapsed_s']:g} s{apart} | at most one per {cell['progress_seconds']:g} s: "
        f"{'met' if throttle['met'] else 'missed'} |",
        f"| Redis round trips per import row ({cell['redis']['rows']} rows, idle polling "
        f"subtracted) | {cell['redis']['round_trips_per_row']:g} | — |",
        f"| peak memory of a worker process during a {cell['memory']['rows']:,}-row import | "
        f"{cell['memory']['worker_peak_mb']:g} MB ({cell['memory']['worker_rss_before_mb']:g} MB "
        "before) | — |",
    ]


def side_by_side_block(report: dict[str, Any]) -> str:
    """The project README's table: ours beside the floor and the naive bot, with verdicts."""
    about = (
        f"From the {report['profile']['name']} run in [docs/benchmarks.md](docs/benchmarks.md) "
        f"({report['machine']['nproc']} CPUs)."
    )
    return "\n".join([about, "", *side_by_side.readme_table(report["side_by_side"])]) + "\n"


def refresh_readme(figures: Path = FIGURES, readme: Path = README) -> bool:
    """Rewrite the README's benchmark block from a run's JSON; True if it changed."""
    report = json.loads(figures.read_text(encoding="utf-8"))
    return _rewrite(readme, "bench", readme_block(report))


def refresh_front_readme(figures: Path = FIGURES, readme: Path = FRONT_README) -> bool:
    """Rewrite the project README's side-by-side block from a run's JSON; True if changed."""
    report = json.loads(figures.read_text(encoding="utf-8"))
    return _rewrite(readme, "side-by-side", side_by_side_block(report))


def _rewrite(path: Path, name: str, content: str) -> bool:
    """Put `content` between `path`'s <!-- name:start --> and <!-- name:end --> markers."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = re.compile(f"({re.escape(start)}\n)(.*?)({re.escape(end)})", re.S)
    text = path.read_text(encoding="utf-8")
    if not block.search(text):
        raise ValueError(f"{path} has no {start} ... {end} block")
    new = block.sub(lambda found: found.group(1) + content + found.group(3), text)
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def _ack_rows(report: dict[str, Any]) -> list[str]:
    cells, targets = report["ack_latency"], report["targets"]
    levels = sorted({cell["concurrency"] for cell in cells.values()})
    rows = [
        f"| slash-command ack p50 at {levels[0]} concurrent (help / credit / add) | "
        + " / ".join(f"{cells[f'{name}@{levels[0]}']['p50_ms']:.1f}" for name in _ACK_COMMANDS)
        + " ms | — |"
    ]
    for level in levels:
        if level not in ACK_TARGETS_MS:
            continue
        values = " / ".join(f"{cells[f'{name}@{level}']['p99_ms']:.0f}" for name in _ACK_COMMANDS)
        met = {name: targets[f"ack p99 {name}@{level}"]["met"] for name in _ACK_COMMANDS}
        rows.append(
            f"| ack p99 at {level} concurrent (help / credit / add) | {values} ms | "
            f"< {ACK_TARGETS_MS[level]:g} ms: {_verdict(met)} |"
        )
    return rows


def _approve_row(report: dict[str, Any]) -> str:
    cells = sorted(report["approve_to_done"].items(), key=lambda i: i[1]["sandbox_latency_ms"])
    latencies = " / ".join(str(cell["sandbox_latency_ms"]) for _, cell in cells)
    values = " / ".join(f"{cell['overhead']['p99_ms']:.0f}" for _, cell in cells)
    met = {
        f"{cell['sandbox_latency_ms']} ms": report["targets"][f"approve overhead p99 {key}"]["met"]
        for key, cell in cells
    }
    return (
        "| Approve → member created, overhead p99 beyond the sandbox latency "
        f"({latencies} ms) | {values} ms | < {OVERHEAD_TARGET_MS:g} ms: "
        f"{_verdict(met, where='at')} |"
    )


def _tls_row(cell: dict[str, Any]) -> str:
    done = cell["approve_to_done"]
    return (
        f"| Approve → done, Slack behind TLS at {cell['round_trip_ms']:g} ms per round trip | "
        f"p50 {done['p50_ms']:.0f} ms; {cell['connections_per_approval']:g} new connections "
        f"for {cell['slack_calls_per_approval']:g} Slack calls | — |"
    )


def _tokens_row(report: dict[str, Any]) -> str:
    t = report["token_economy"]
    met = report["targets"]["token requests = token lifetimes"]["met"]
    return (
        f"| token requests, {t['worker_processes']} workers + web, {t['token_lifetime_s']} s "
        f"lifetime over {t['run_seconds']:.0f} s | {t['token_requests']} for "
        f"{t['api_calls']:,} API calls ({t['token_lifetimes_in_run']} lifetimes in the run) | "
        f"one per lifetime: {'met' if met else 'missed'} |"
    )


def _redis_row(redis_figures: dict[str, Any]) -> str:
    stages = " → ".join(redis_figures["stages"])
    return (
        f"| Redis per request lifecycle ({stages}) | {redis_figures['round_trips_total']} "
        f"round trips, {redis_figures['commands_total']} commands | — |"
    )


def _throughput_row(report: dict[str, Any], key: str) -> str:
    cell, profile = report[key], report["profile"]
    concurrent = cell["total_worker_concurrency"]
    workers = profile["sized_workers"] if key == "throughput_sized" else profile["workers"]
    met = report["targets"][f"{key} ratio to ideal ({concurrent} concurrent)"]["met"]
    return (
        f"| throughput at {cell['sandbox_latency_ms']} ms latency, {workers} workers × "
        f"{concurrent // workers} (ideal {cell['ideal_per_second']:g}/s) | "
        f"{cell['per_second']:g}/s, {cell['ratio_to_ideal']:.2f}× ideal | "
        f"≤ {THROUGHPUT_TARGET:g}×: {'met' if met else 'missed'} |"
    )


def _verdict(met: dict[str, bool], where: str = "by") -> str:
    """ "met", "missed", or "met by help, missed by credit and add"."""
    if all(met.values()):
        return "met"
    if not any(met.values()):
        return "missed"
    hits = _and([name for name, ok in met.items() if ok])
    misses = _and([name for name, ok in met.items() if not ok])
    return f"met {where} {hits}, missed {where} {misses}"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"

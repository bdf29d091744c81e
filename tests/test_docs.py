"""The README's example transcripts are what `examples/*.console` print today.

The script runs fresh, as the README says, through the real entry point with the embedded
defaults (no Slack credentials, no REDIS_URL: an embedded redis-server in a fresh folder).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_console import ROOT, console_env

# Each README transcript block (between its markers) and the script that prints it.
TRANSCRIPTS = {"transcript": "demo.console", "scheduled-transcript": "scheduled.console"}


def readme_transcript(marker: str = "transcript") -> str:
    block = re.compile(rf"<!-- {marker}:start -->\n```\n(.*?)```\n<!-- {marker}:end -->", re.S)
    found = block.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert found, f"README.md lost its {marker} markers"
    return found.group(1)


@pytest.mark.parametrize(("marker", "script"), sorted(TRANSCRIPTS.items()))
def test_readme_transcript_is_what_the_script_prints(
    tmp_path: Path, marker: str, script: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--script", str(ROOT / "examples" / script)],
        cwd=tmp_path,
        env=console_env(redis_url=None),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✅ Done · approved by @bob" in done.stdout  # each shows a whole flow
    assert done.stdout == readme_transcript(marker), (
        f"README.md's {marker} is out of date; paste the output of "
        f"`python -m bot console --script examples/{script}` between its markers"
    )


BENCH_BLOCK = re.compile(r"<!-- bench:start -->\n(.*?)<!-- bench:end -->", re.S)


def test_readme_benchmark_figures_are_what_bench_writes_from_its_json(tmp_path: Path) -> None:
    """The figures are written by `python -m bench --readme`, from the JSON of a run that is
    kept next to them (bench/figures.json), never typed."""
    from bench.report import FIGURES, readme_block, refresh_readme

    report = json.loads(FIGURES.read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = BENCH_BLOCK.search(readme)
    assert found, "README.md lost its benchmark markers"
    assert found.group(1) == readme_block(report), (
        "README.md's benchmark figures are out of date; run `python -m bench --readme`"
    )
    # The command rewrites exactly that block, and only it.
    copy = tmp_path / "README.md"
    copy.write_text(BENCH_BLOCK.sub("<!-- bench:start -->\nstale\n<!-- bench:end -->", readme))
    assert refresh_readme(FIGURES, copy)
    assert copy.read_text(encoding="utf-8") == readme
    assert not refresh_readme(FIGURES, copy)  # nothing left to change


def test_the_benchmark_block_reads_the_figures_and_verdicts_of_the_run() -> None:
    from bench.report import FIGURES, readme_block

    report = json.loads(FIGURES.read_text(encoding="utf-8"))
    block = readme_block(report)
    machine = report["machine"]
    assert f"{machine['nproc']} CPUs" in block and f"Python {machine['python']}" in block
    p99 = [f"{report['ack_latency'][f'{c}@20']['p99_ms']:.0f}" for c in ("help", "credit", "add")]
    assert f"| {' / '.join(p99)} ms | < 50 ms: " in block
    redis = report["redis_per_lifecycle"]
    assert f"{redis['round_trips_total']} round trips, {redis['commands_total']} commands" in block
    # A verdict is the run's own target check: flip it, and the row says so.
    sized = next(name for name in report["targets"] if name.startswith("throughput_sized"))
    for met in (True, False):
        report["targets"][sized]["met"] = met
        (row,) = [
            line
            for line in readme_block(report).splitlines()
            if f"| {report['throughput_sized']['per_second']:g}/s," in line
        ]
        assert row.endswith(f": {'met' if met else 'missed'} |")

"""The documents stay true: every transcript in README.md and docs/ is what its
`examples/*.console` script prints today, the benchmark block is what bench writes, the
README reads in five minutes, and every relative link in README.md, CONTRIBUTING.md and
docs/*.md resolves (to a file, and to a heading for a #anchor).

The scripts run fresh, as the documents say, through the real entry point with the embedded
defaults (no Slack credentials, no REDIS_URL: an embedded redis-server in a fresh folder).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.test_console import ROOT, console_env

README_MAX_LINES = 250
BENCHMARKS = ROOT / "docs" / "benchmarks.md"

# Each transcript block (a document, its marker) and the script that prints it.
TRANSCRIPTS = {
    ("README.md", "transcript"): "quick.console",
    ("docs/console.md", "transcript"): "demo.console",
    ("docs/scheduled-changes.md", "scheduled-transcript"): "scheduled.console",
    ("docs/imports.md", "import-transcript"): "import.console",
    # The Dutch story (people set Slack to Dutch: --locale nl), linked from the README.
    ("docs/languages.md", "transcript-nl"): "onboarding.nl.console",
}


def transcript_in(document: str, marker: str) -> str:
    block = re.compile(rf"<!-- {marker}:start -->\n```\n(.*?)```\n<!-- {marker}:end -->", re.S)
    found = block.search((ROOT / document).read_text(encoding="utf-8"))
    assert found, f"{document} lost its {marker} markers"
    return found.group(1)


def play(script: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """`python -m bot console --script examples/<script>` run fresh in `folder`."""
    # The scripts' file paths are relative to the folder the console runs in.
    (folder / "examples").mkdir(exist_ok=True)
    shutil.copy(ROOT / "examples" / "import.csv", folder / "examples" / "import.csv")
    return subprocess.run(
        [sys.executable, "-m", "bot", "console", "--script", str(ROOT / "examples" / script)],
        cwd=folder,
        env=console_env(redis_url=None),
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize(
    ("document", "marker", "script"), [(*k, v) for k, v in TRANSCRIPTS.items()]
)
def test_each_transcript_is_what_its_script_prints(
    tmp_path: Path, document: str, marker: str, script: str
) -> None:
    done = play(script, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✅ Done · approved by @bob" in done.stdout  # each shows a whole flow
    assert done.stdout == transcript_in(document, marker), (
        f"{document}'s {marker} is out of date; paste the output of "
        f"`python -m bot console --script examples/{script}` between its markers "
        "(or run `python -m tests.test_docs`, which rewrites every transcript)"
    )


def test_the_dutch_story_is_read_in_dutch(tmp_path: Path) -> None:
    """The Dutch transcript really is one: the people who set --locale nl read Dutch
    amounts (CLDR's `€ 750,00`, a no-break space) in what the bot writes them."""
    done = play(TRANSCRIPTS[("docs/languages.md", "transcript-nl")], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Slack language nl-NL" in done.stdout
    assert "€\u00a0750,00" in done.stdout
    # carol's credit look-up is hers alone: Dutch, whatever the community's language.
    carol = done.stdout.split("carol> /community credit", 1)[1].split("\n\n", 1)[0]
    assert "€\u00a0750,00" in carol and "€750.00" not in carol


def rewrite_transcripts() -> None:
    """`python -m tests.test_docs`: play every script and put its output between its
    document's markers (after a change to what the bot writes, or to its Dutch)."""
    import tempfile

    for (document, marker), script in TRANSCRIPTS.items():
        with tempfile.TemporaryDirectory() as folder:
            done = play(script, Path(folder))
        if done.returncode != 0:
            raise SystemExit(f"examples/{script} failed:\n{done.stdout}{done.stderr}")
        path = ROOT / document
        block = re.compile(
            rf"(<!-- {marker}:start -->\n```\n).*?(```\n<!-- {marker}:end -->)", re.S
        )
        text = path.read_text(encoding="utf-8")
        printed = done.stdout
        new, count = block.subn(lambda m, out=printed: m.group(1) + out + m.group(2), text)
        if count != 1:
            raise SystemExit(f"{document} has no single {marker} block")
        path.write_text(new, encoding="utf-8")
        print(f"{document} {marker}: {'rewritten' if new != text else 'unchanged'}")


# Links ----------------------------------------------------------------------------------

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def documents() -> list[Path]:
    return [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for a Markdown file's headings: lower case, punctuation dropped,
    spaces as hyphens."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    found = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def broken_links(path: Path) -> list[str]:
    broken = []
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # https:, mailto:: not ours to check here
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(
                f"{target}: no {linked.relative_to(ROOT) if ROOT in linked.parents else linked}"
            )
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    return broken


def test_every_relative_link_in_the_documents_resolves() -> None:
    problems = [f"{p.relative_to(ROOT)}: {b}" for p in documents() for b in broken_links(p)]
    assert problems == []
    assert len(documents()) > 5  # the docs are there to be checked


def test_the_link_check_sees_a_missing_file_and_a_missing_anchor(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n## A part\n\n[ok](#a-part) [gone](#no-part) [file](nowhere.md) "
        "[web](https://example.com)\n```\n[in code](skipped.md)\n```\n",
        encoding="utf-8",
    )
    assert [b.split(":")[0] for b in broken_links(page)] == ["#no-part", "nowhere.md"]


def test_the_readme_reads_in_five_minutes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= README_MAX_LINES
    assert "<details>" not in readme  # no folding around the limit
    for kept in (
        "## Two commands",
        "## Creating the Slack app",
        "## Deploying",
        "<!-- transcript:start -->",
        "docs/languages.md#the-same-flow-in-dutch",
    ):
        assert kept in readme
    # The table another check generates lives between exactly these two lines.
    lines = readme.splitlines()
    assert "## Who may do what" in lines
    assert lines.count("<!-- BEGIN who-may-do-what -->") == 1
    assert lines.count("<!-- END who-may-do-what -->") == 1


# The install ----------------------------------------------------------------------------


def readme_command(marker: str) -> str:
    found = re.search(
        rf"<!-- {marker} -->\n```\n(.*?)\n```", (ROOT / "README.md").read_text(encoding="utf-8")
    )
    assert found, f"README.md lost its {marker} marker"
    return found.group(1)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    command = readme_command("test-command")
    assert "venv" in command and "pytest" in command  # no install into the system Python
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in ci


def _pins(path: Path) -> dict[str, str]:
    return dict(
        re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", path.read_text(encoding="utf-8"), re.M)
    )


def test_the_requirements_files_pin_what_the_lock_file_pins() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    locked = {p["name"]: p["version"] for p in lock["package"] if "version" in p}
    norm = lambda name: re.sub(r"[-_.]+", "-", name).lower()  # noqa: E731
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for name, extra in (("requirements.txt", None), ("requirements-test.txt", "test")):
        pins = {norm(k): v for k, v in _pins(ROOT / name).items()}
        assert pins, name
        assert all(locked.get(k) == v for k, v in pins.items()), name
        wanted = project["dependencies"] + (
            project["optional-dependencies"][extra] if extra else []
        )
        for requirement in wanted:
            assert norm(re.split(r"[<>=\[; ]", requirement)[0]) in pins, (name, requirement)
        assert "--hash=sha256:" in (ROOT / name).read_text(encoding="utf-8")
    assert (ROOT / ".python-version").read_text().strip() == "3.11"


BENCH_BLOCK = re.compile(r"<!-- bench:start -->\n(.*?)<!-- bench:end -->", re.S)


def test_the_benchmark_figures_are_what_bench_writes_from_its_json(tmp_path: Path) -> None:
    """The figures in docs/benchmarks.md are written by `python -m bench --readme`, from the
    JSON of a run that is kept next to them (bench/figures.json), never typed."""
    from bench.report import FIGURES, README, readme_block, refresh_readme

    assert README == BENCHMARKS
    report = json.loads(FIGURES.read_text(encoding="utf-8"))
    readme = BENCHMARKS.read_text(encoding="utf-8")
    found = BENCH_BLOCK.search(readme)
    assert found, "docs/benchmarks.md lost its benchmark markers"
    assert found.group(1) == readme_block(report), (
        "docs/benchmarks.md's figures are out of date; run `python -m bench --readme`"
    )
    # The command rewrites exactly that block, and only it.
    copy = tmp_path / "benchmarks.md"
    copy.write_text(BENCH_BLOCK.sub("<!-- bench:start -->\nstale\n<!-- bench:end -->", readme))
    assert refresh_readme(FIGURES, copy)
    assert copy.read_text(encoding="utf-8") == readme
    assert not refresh_readme(FIGURES, copy)  # nothing left to change


SIDE_BLOCK = re.compile(r"<!-- side-by-side:start -->\n(.*?)<!-- side-by-side:end -->", re.S)


def test_the_readme_shows_the_side_by_side_table_bench_writes(tmp_path: Path) -> None:
    """The README's table of ours beside the floor and the naive bot is written by the same
    `python -m bench --readme`, from the same JSON, with its verdicts."""
    from bench.report import FIGURES, FRONT_README, refresh_front_readme, side_by_side_block

    assert FRONT_README == ROOT / "README.md"
    report = json.loads(FIGURES.read_text(encoding="utf-8"))
    text = FRONT_README.read_text(encoding="utf-8")
    found = SIDE_BLOCK.search(text)
    assert found, "README.md lost its side-by-side markers"
    block = side_by_side_block(report)
    assert found.group(1) == block, "README's table is out of date; run `python -m bench --readme`"
    for kind in ("add", "submission", "approve", "credit"):
        floor = report["side_by_side"]["ratios"][kind]["to_floor_slash_p99"]
        assert f"| {floor:.2f}x: " in block
    copy = tmp_path / "README.md"
    copy.write_text(
        SIDE_BLOCK.sub("<!-- side-by-side:start -->\nstale\n<!-- side-by-side:end -->", text)
    )
    assert refresh_front_readme(FIGURES, copy)
    assert copy.read_text(encoding="utf-8") == text


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


if __name__ == "__main__":
    rewrite_transcripts()

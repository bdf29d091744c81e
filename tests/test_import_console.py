"""The README's import transcript is what `examples/import.console` prints today, and the
console attaches a file to a file input from a path (bot/console/form.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.test_console import ROOT, console_env

BLOCK = re.compile(
    r"<!-- import-transcript:start -->\n```\n(.*?)```\n<!-- import-transcript:end -->", re.S
)


def run_script(script: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    # A scratch folder, so no developer .env changes what the console does; the script's
    # file paths are relative to the folder the console runs in, as in the README.
    return subprocess.run(
        [sys.executable, "-m", "bot", "console", "--script", str(script)],
        cwd=cwd,
        env=console_env(redis_url=None),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_readme_import_transcript_is_what_the_example_prints(tmp_path: Path) -> None:
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "import.csv", tmp_path / "examples" / "import.csv")
    done = run_script(ROOT / "examples" / "import.console", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✅ Done · approved by @bob at <time>. 6 created." in done.stdout
    assert "6 already members" in done.stdout  # the re-run created nobody twice
    found = BLOCK.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert found, "README.md lost its import transcript markers"
    assert done.stdout == found.group(1), (
        "README.md's import transcript is out of date; paste the output of "
        "`python -m bot console --script examples/import.console` between the markers"
    )


def test_a_file_input_answered_with_a_missing_path_is_asked_again(tmp_path: Path) -> None:
    script = tmp_path / "missing.console"
    script.write_text("as alice\n/community import\n  csv file: nowhere.csv\n", encoding="utf-8")
    done = run_script(script, tmp_path)
    assert done.returncode == 1
    assert "✗ CSV file: No file 'nowhere.csv' here; type the path of a CSV file." in done.stdout
    assert "the script gives no other answer for 'CSV file'" in done.stdout

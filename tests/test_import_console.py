"""The console attaches a file to a file input from a path (bot/console/form.py); the
import transcript in docs/imports.md is checked by tests/test_docs.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.test_console import console_env


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


def test_a_file_input_answered_with_a_missing_path_is_asked_again(tmp_path: Path) -> None:
    script = tmp_path / "missing.console"
    script.write_text("as alice\n/community import\n  csv file: nowhere.csv\n", encoding="utf-8")
    done = run_script(script, tmp_path)
    assert done.returncode == 1
    assert "✗ CSV file: No file 'nowhere.csv' here; type the path of a CSV file." in done.stdout
    assert "the script gives no other answer for 'CSV file'" in done.stdout

"""The README's example transcript is what `examples/demo.console` prints today.

The script runs fresh, as the README says, through the real entry point with the embedded
defaults (no Slack credentials, no REDIS_URL: an embedded redis-server in a fresh folder).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.test_console import ROOT, console_env

BLOCK = re.compile(r"<!-- transcript:start -->\n```\n(.*?)```\n<!-- transcript:end -->", re.S)


def readme_transcript() -> str:
    found = BLOCK.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert found, "README.md lost its transcript markers"
    return found.group(1)


def test_readme_transcript_is_what_the_demo_prints(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "console",
            "--script",
            str(ROOT / "examples" / "demo.console"),
        ],
        cwd=tmp_path,
        env=console_env(redis_url=None),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✅ Done · approved by @bob" in done.stdout  # the demo shows the whole flow
    assert done.stdout == readme_transcript(), (
        "README.md's transcript is out of date; paste the output of "
        "`python -m bot console --script examples/demo.console` between the markers"
    )

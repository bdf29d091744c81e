"""docs/workflow-builder.md's transcript is what `examples/workflow.console` prints today."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.test_console import ROOT, console_env

BLOCK = re.compile(
    r"<!-- workflow-transcript:start -->\n```\n(.*?)```\n<!-- workflow-transcript:end -->", re.S
)


def test_the_workflow_transcript_is_what_the_example_prints(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "console",
            "--script",
            str(ROOT / "examples" / "workflow.console"),
        ],
        cwd=tmp_path,
        env=console_env(redis_url=None),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "│ status: done\n│ decided_by: @bob\n│ remaining_credit_eur: 750.00" in done.stdout
    assert "│ status: rejected\n│ decided_by: @erin" in done.stdout
    assert "│ Community: Only HR may file requests. Ask an admin for the role." in done.stdout
    found = BLOCK.search((ROOT / "docs" / "workflow-builder.md").read_text(encoding="utf-8"))
    assert found, "docs/workflow-builder.md lost its transcript markers"
    assert done.stdout == found.group(1), (
        "docs/workflow-builder.md's transcript is out of date; paste the output of "
        "`python -m bot console --script examples/workflow.console` between the markers"
    )

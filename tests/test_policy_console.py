"""docs/policy.md's "Several communities" transcript is what examples/policy.console prints
with POLICY_FILE=examples/policy.toml and the sandbox seeded with its two communities."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.test_console import console_env
from tests.test_docs import transcript_in

ROOT = Path(__file__).resolve().parents[1]


def test_the_several_communities_transcript_is_what_its_script_prints(tmp_path: Path) -> None:
    env = {
        **console_env(redis_url=None),
        "POLICY_FILE": str(ROOT / "examples" / "policy.toml"),
        "SANDBOX_COMMUNITIES": "cc-acme-nl:Acme NL,cc-acme-be:Acme BE",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "console",
            "--script",
            str(ROOT / "examples" / "policy.console"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    # Each part of the story shows: routing, auto-approval, escalation, delegation.
    assert "#approvals-cc-acme-be · new message" in out
    # cc-acme-nl's approval messages are Dutch: its policy says language = "nl".
    assert "goedgekeurd door beleid (rule communities.cc-acme-nl.auto_approve_add_up_to_eur" in out
    assert "#escalations · new message" in out and "goedgekeurd door @erin" in out
    assert "goedgekeurd door @carol" in out
    assert out == transcript_in("docs/policy.md", "policy-transcript"), (
        "docs/policy.md's policy-transcript is out of date; paste the output of the command "
        "its 'Several communities' section shows between its markers"
    )

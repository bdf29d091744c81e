"""The local console: scripted sessions against the whole bot on loopback.

The subprocess tests run `python -m bot console --script` exactly as a newcomer would, with
no Slack credentials and REDIS_URL pointing at the test's redis-server (the embedded default
is exercised by tests/test_docs.py). The in-process tests run the same script through
`run_script` on a stack they can inspect, to check the sandbox and the stored requests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from bot.console import console_stack, parse_script, run_script
from bot.console.form import ConsoleError, KeyboardAnswers
from bot.console.mask import Masker
from bot.console.render import Names, mrkdwn
from bot.console.session import ConsoleSession
from bot.domain.requests import Status
from bot.runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMMUNITY = "acme-employees"

FLOW = """\
# add -> approve -> done
as alice
/community add jane@example.com
  first name: Jane
  last name: Doe
  credit: 750.00
as bob
click Approve
as alice
dm
# credit
as carol
/community credit jane@example.com
# remove -> reject with a reason
as alice
/community remove jane@example.com
  reason: Leaves in December
as bob
click Reject
  reason: Not yet, her contract was extended
# refused
as frank
/community add
"""


def console_env(redis_url: str | None) -> dict[str, str]:
    """The caller's environment without any bot setting: no Slack credentials at all."""
    prefixes = (
        "SLACK_",
        "ROLES_",
        "COMMUNITIES_",
        "COMMUNITY_",
        "REDIS_",
        "APPROVALS_",
        "SANDBOX_",
        "DATA_DIR",
    )
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(prefixes)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    return env


def run_cli(script: str, tmp_path: Path, redis_url: str | None) -> subprocess.CompletedProcess:
    path = tmp_path / "session.console"
    path.write_text(script, encoding="utf-8")
    # cwd is a scratch folder so no developer .env changes what the console does.
    return subprocess.run(
        [sys.executable, "-m", "bot", "console", "--script", str(path)],
        cwd=tmp_path,
        env=console_env(redis_url),
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_scripted_session_over_the_real_entry_point(tmp_path: Path, redis_url: str) -> None:
    done = run_cli(FLOW, tmp_path, redis_url)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "alice> /community add jane@example.com" in out
    assert "│ First name: Jane" in out
    assert "┌ #approvals · new message" in out and "│ [Approve] [Reject]" in out
    assert "✅ Done · approved by @bob at <time>. Remaining credit: €750.00." in out
    assert "Your request is done." in out  # alice's DM
    assert "Jane Doe (jane@example.com) has €750.00 remaining credit" in out
    assert "❌ Rejected by @bob at <time>: Not yet, her contract was extended" in out
    assert "⛔ Only HR and admins can request onboarding." in out
    # Request IDs and correlation IDs are masked, so the transcript is reproducible.
    assert "Onboard employee · R1" in out and "Offboard employee · R2" in out
    assert "Correlation ID: <correlation-id>" in out


def test_a_failing_line_exits_non_zero(tmp_path: Path, redis_url: str) -> None:
    done = run_cli("as alice\nas nobody\n/community help\n", tmp_path, redis_url)
    assert done.returncode == 1
    assert "! line 2: unknown user 'nobody'" in done.stdout
    assert "alice> /community help" not in done.stdout  # stops at the failing line


@pytest.fixture
def console(redis_url: str, tmp_path: Path):
    stack = console_stack(
        Settings(
            _env_file=None,
            redis_url=redis_url,  # type: ignore[call-arg]
            data_dir=str(tmp_path / "data"),
        )
    )
    yield stack
    stack.stop()


def run_lines(stack, script: str) -> tuple[int, str]:
    lines: list[str] = []
    code = run_script(stack, script.splitlines(), lines.append)
    return code, "\n".join(lines)


def test_the_flow_changes_the_sandbox_and_the_requests(console) -> None:
    code, out = run_lines(console, FLOW)
    assert code == 0, out
    member = console.sandbox.state.member(COMMUNITY, "jane@example.com")
    assert member is not None and member["remaining_credit"] == Decimal("750.00")
    store = console.services.store
    requests = sorted(store.get_many(store.recent_ids()), key=lambda r: r.created_at)
    assert [(r.operation.value, r.status) for r in requests] == [
        ("add", Status.DONE),
        ("remove", Status.REJECTED),
    ]  # frank filed nothing
    assert requests[1].decision_reason == "Not yet, her contract was extended"


def test_refused_fields_are_shown_and_asked_again(console) -> None:
    code, out = run_lines(
        console,
        """\
/community add
  first name: Jane
  last name: Doe
  e-mail: not-an-address
  e-mail: jane@example.com
  credit: 12.345
  credit: 20
""",
    )
    assert code == 0, out
    assert "│ ✗ E-mail: Enter an email address in the right format." in out
    assert "│ ✗ Credit in euros: Use at most two decimals (whole cents)." in out
    assert out.count("│ First name:") == 1  # only the refused fields come back
    request = console.services.store.get_many(console.services.store.pending_ids())[0]
    assert request.credit == Decimal("20.00") and request.email == "jane@example.com"


def test_a_refused_field_without_another_answer_fails_the_line(console) -> None:
    code, out = run_lines(console, "/community add\n  first name: Jane\n  credit: 5\n")
    assert code == 1
    assert "│ ✗ Last name: Please complete this required field." in out
    assert "the script gives no other answer for 'Last name'" in out
    assert console.services.store.pending_ids() == []


def test_several_buttons_need_a_request_id(console) -> None:
    filing = "".join(
        f"/community add p{n}@example.com\n  first name: P\n  last name: {n}\n  credit: {n}\n"
        for n in (1, 2)
    )
    code, out = run_lines(console, filing + "as bob\n/community pending\nclick Approve\n")
    assert code == 1 and "2 buttons [Approve] here (R1, R2)" in out
    code, out = run_lines(console, "click Approve R2\n")  # a new session: R1, R2 afresh
    assert code == 1 and "no button [Approve R2]" in out  # this session was shown nothing
    code, out = run_lines(console, "as bob\n/community pending\nclick Approve R2\n")
    assert code == 0, out
    member = console.sandbox.state.member(COMMUNITY, "p2@example.com")
    assert member is not None and console.sandbox.state.member(COMMUNITY, "p1@example.com") is None


def test_no_such_button_fails(console) -> None:
    code, out = run_lines(console, "as bob\nclick Approve\n")
    assert code == 1 and "no button [Approve] on anything shown to @bob" in out


def test_script_format() -> None:
    steps = parse_script(
        [
            "# story",
            "as alice",
            "/community add",
            "  first name: Jane",
            "  # a note to self",
            "",
            "click Approve",
        ]
    )
    assert [(s.line_no, s.text, s.answers) for s in steps] == [
        (1, "# story", []),
        (2, "as alice", []),
        (3, "/community add", ["first name: Jane"]),
        (7, "click Approve", []),
    ]
    with pytest.raises(ConsoleError, match="line 1"):
        parse_script(["  first name: Jane"])


def test_mrkdwn_is_shown_as_slack_shows_it() -> None:
    names = Names({"U0ALICE": "alice"}, {"C0APPROVALS": "approvals"})
    text = (
        "*Done* by <@U0ALICE> at <!date^1700000000^{date_short_pretty}|2023-11-14 22:13 UTC>"
        " in <#C0APPROVALS> :white_check_mark: `R1` &lt;!channel&gt; &amp; co :test_tube:"
        " *SANDBOX*"
    )
    assert mrkdwn(text, names) == (
        "Done by @alice at 2023-11-14 22:13 UTC in #approvals ✅ R1 <!channel> & co 🧪 SANDBOX"
    )


def test_the_interactive_console_reports_every_invalid_field_at_once(console) -> None:
    """As Slack does on submit: every field in trouble at once, then only those again."""
    typed = iter(
        # Community, first, last, e-mail, credit, reference, note, start date; then the three
        # refused.
        ["7", "Jane", "", "not-an-address", "750", "", "", "", "1", "Doe", "jane@example.com"]
    )
    events: list[tuple[str, str]] = []

    def read(prompt: str) -> str:
        events.append(("ask", prompt))
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    session = ConsoleSession(console, lambda line: events.append(("say", line)), Masker(False))
    assert session.execute("/community add", KeyboardAnswers(read))
    asks = [i for i, (kind, _) in enumerate(events) if kind == "ask"]
    errors = [(i, line) for i, (kind, line) in enumerate(events) if line.startswith("│ ✗")]
    assert [line.split(":")[0] for _, line in errors] == [
        "│ ✗ Community",
        "│ ✗ Last name",
        "│ ✗ E-mail",
    ]
    # All three are told after the last field of the form and before the first asked again.
    assert all(asks[7] < i < asks[8] for i, _ in errors)
    assert [events[i][1].split(":")[0].split(" [")[0] for i in asks[8:]] == [
        "│ Community",
        "│ Last name",
        "│ E-mail",
    ]
    (request,) = console.services.store.get_many(console.services.store.pending_ids())
    assert (request.last_name, request.email) == ("Doe", "jane@example.com")


def test_a_script_names_every_refused_field_it_has_no_other_answer_for(console) -> None:
    code, out = run_lines(console, "/community add\n  first name: Jane\n  credit: 5\n")
    assert code == 1
    assert "the script gives no other answer for 'Last name', 'E-mail'" in out


def test_a_script_answer_that_is_not_a_choice_is_refused_and_asked_again(console) -> None:
    code, out = run_lines(
        console,
        "/community add\n  community: 9\n  community: 1\n"
        "  first name: Jane\n  last name: Doe\n  e-mail: jane@example.com\n  credit: 5\n",
    )
    assert code == 0, out
    assert "│ ✗ Community: " in out and out.count("│ Community [1]:") == 2
    assert len(console.services.store.pending_ids()) == 1


def test_files_sent_to_you_can_be_listed_and_shown(console) -> None:
    code, out = run_lines(console, "files\nas dave\n/community audit\nfiles\nfile 1\n")
    assert code == 0, out
    assert "No files were sent to you." in out
    assert "1) 📎 community-audit-<time>.csv · Community Bot audit trail · 0 rows" in out
    assert "┌ community-audit-<time>.csv" in out
    assert "│ at,request_id,action,actor,operation,community_id,email,credit,status" in out
    code, out = run_lines(console, "as dave\nfile 2\n")
    assert code == 1 and "no file '2' sent to @dave" in out

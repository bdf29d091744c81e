"""No text a person reads bypasses the catalogue.

The code that writes what people read (the Block Kit builders, bot/slack/text.py, the
listeners, the notifiers, the Workflow Builder steps and the domain, less the operator's
policy CLI `policy_file.py`) is read as Python syntax, and every string literal and
f-string in it that reads as natural language is reported, file:line and text, unless it is

- a message given to the catalogue: the first argument of `t`, `tn` (both forms) or `N_`;
- a docstring, or any other string standing alone as a statement;
- (part of) a logging call: `log.info(...)`, `logger.warning(...)`, `logging.error(...)`;
- the message of an exception no person ever reads: `raise TypeError(...)` and the others
  in INTERNAL_ERRORS, or an `assert`'s message (many of our exceptions DO reach people:
  ValueError is a modal's field error, CommunitiesError a reply; those are reported);
- a dict key (`{"Content-Type": ...}`), a name in `__all__`, or text compared with, never
  shown (`reply == "Done."`, `message.startswith("Value error, ")`, a `re.compile`
  pattern);
- on a line that ends with the comment `# i18n: not for people` (for a multi-line literal,
  on any of its lines): the way to say a text is for machines or operators, not people.

Natural language is two words of letters with spaces between them (`Approved by`, also
with numbers or {} between: `Use 1 to 100`), a
capitalised word followed by punctuation (`Done.`, `Reason:`), or a capitalised word alone
(a button's `Approve`). Apart from that, any literal with a euro sign is reported, even
inside `t`: amounts go through `i18n.money` (docstrings and the marker excepted).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = [
    "bot/slack/blocks/*.py",
    "bot/slack/text.py",
    "bot/slack/listeners/**/*.py",
    "bot/slack/notifier.py",
    "bot/slack/import_notifier.py",
    "bot/slack/steps.py",
    "bot/domain/*.py",
]
NOT_SCANNED = {"bot/domain/policy_file.py"}  # the operator's policy CLI: not for people
MARKER = "# i18n: not for people"
# Also exempt: text recorded once, in English, as the record (audit details, outcomes
# stored with a request), commands shown as they are typed, and the README's table.
MARKERS = (MARKER, "# i18n: recorded", "# i18n: as typed", "# i18n: docs")
# Calls whose first argument only says, in the log, what was being attempted.
LOGGED_ONLY = {"_attempt"}
CATALOGUE_CALLS = {"t", "tn", "N_"}
LOG_LEVELS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}
TEXT_TESTS = {"startswith", "endswith", "removeprefix", "removesuffix"}
INTERNAL_ERRORS = {
    "AssertionError",
    "KeyError",
    "NotImplementedError",
    "RuntimeError",
    "TypeError",
}

# Two words (numbers and {} between them allowed: "Use 1 to 100 characters").
WORD = r"\b[A-Za-z][a-z']+\b"
WORDS = re.compile(rf"{WORD}(?: +(?:\d[\d.,]*|\{{\w*\}}))* +{WORD}")
PUNCTUATED = re.compile(r"\b[A-Z][a-z]+[.!?:…]")
ALONE = re.compile(r"[*_:\s]*[A-Z][a-z]{2,}[*_\s]*")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text!r}"


def reads_as_language(text: str) -> bool:
    return bool(WORDS.search(text) or PUNCTUATED.search(text) or ALONE.fullmatch(text))


def _text_of(node: ast.Constant | ast.JoinedStr) -> str:
    """The literal's text; an f-string's values are shown as {}."""
    if isinstance(node, ast.Constant):
        return str(node.value)
    return "".join(
        str(part.value) if isinstance(part, ast.Constant) else "{}" for part in node.values
    )


def _callee(call: ast.Call) -> tuple[str, str]:
    """(name, receiver) of a call: t(...) -> ("t", ""), self.log.info(...) -> ("info", "log")."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id, ""
    if isinstance(func, ast.Attribute):
        receiver = func.value
        while isinstance(receiver, ast.Call):
            receiver = receiver.func
        name = (
            receiver.attr
            if isinstance(receiver, ast.Attribute)
            else receiver.id
            if isinstance(receiver, ast.Name)
            else ""
        )
        return func.attr, name
    return "", ""


def _is_log_call(call: ast.Call) -> bool:
    name, receiver = _callee(call)
    return name in LOG_LEVELS and "log" in receiver.lower()


def _raised_name(node: ast.Raise) -> str:
    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    if isinstance(exc, ast.Attribute):
        return exc.attr
    return exc.id if isinstance(exc, ast.Name) else ""


class _Scanner(ast.NodeVisitor):
    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.lines = source.splitlines()
        self.findings: list[Finding] = []
        self.exempt = 0  # > 0: inside something that is not for people
        self.catalogued = 0  # > 0: inside a message given to the catalogue

    # Places whose text is exempt ------------------------------------------------------

    def _visit_exempt(self, *nodes: ast.AST | None) -> None:
        self.exempt += 1
        for node in nodes:
            if node is not None:
                self.visit(node)
        self.exempt -= 1

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant | ast.JoinedStr):
            return  # a docstring, or a string standing alone
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name, receiver = _callee(node)
        if _is_log_call(node):
            self.exempt += 1
            self.generic_visit(node)
            self.exempt -= 1
            return
        if receiver == "re":
            return  # a pattern reads text (a euro sign too), it shows none
        if name in LOGGED_ONLY and node.args:
            self.visit(node.func)
            self._visit_exempt(node.args[0])
            for arg in [*node.args[1:], *(keyword.value for keyword in node.keywords)]:
                self.visit(arg)
            return
        if name in TEXT_TESTS and isinstance(node.func, ast.Attribute):
            self.visit(node.func)
            self._visit_exempt(*node.args)  # text compared with, never shown
            return
        if name in CATALOGUE_CALLS:
            self.visit(node.func)
            msgids = node.args[:2] if name == "tn" else node.args[:1]
            self.catalogued += 1
            for arg in msgids:
                self.visit(arg)
            self.catalogued -= 1
            for arg in node.args[len(msgids) :]:
                self.visit(arg)
            for keyword in node.keywords:  # the fields: values shown inside the message
                self.visit(keyword.value)
            return
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        self._visit_exempt(node.left, *node.comparators)  # `if reply == "Done."`

    def visit_Assign(self, node: ast.Assign) -> None:
        if any(isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets):
            return  # names of the module, not words
        self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> None:
        if _raised_name(node) in INTERNAL_ERRORS:
            self._visit_exempt(node.exc, node.cause)
        else:
            self.generic_visit(node)

    def visit_Assert(self, node: ast.Assert) -> None:
        self.visit(node.test)
        self._visit_exempt(node.msg)

    def visit_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            if key is not None and not isinstance(key, ast.Constant | ast.JoinedStr):
                self.visit(key)
            self.visit(value)

    # The literals -----------------------------------------------------------------------

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._literal(node)
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                self.visit(part.value)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self._literal(node)

    def _literal(self, node: ast.Constant | ast.JoinedStr) -> None:
        if self._marked(node):
            return
        text = _text_of(node)
        if "€" in text or (not self.exempt and not self.catalogued and reads_as_language(text)):
            self.findings.append(Finding(self.path, node.lineno, text))

    def _marked(self, node: ast.AST) -> bool:
        first, last = node.lineno, node.end_lineno or node.lineno
        lines = self.lines[first - 1 : last]
        return any(line.rstrip().endswith(MARKERS) for line in lines)


def scan_source(source: str, path: str = "<snippet>") -> list[Finding]:
    scanner = _Scanner(path, source)
    scanner.visit(ast.parse(source))
    return scanner.findings


def scanned_files() -> list[Path]:
    found = {p for pattern in SCANNED for p in ROOT.glob(pattern)}
    return sorted(p for p in found if str(p.relative_to(ROOT)) not in NOT_SCANNED)


def scan_all() -> list[Finding]:
    findings: list[Finding] = []
    for path in scanned_files():
        findings += scan_source(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    return findings


def test_no_text_for_people_bypasses_the_catalogue() -> None:
    assert len(scanned_files()) > 40  # the globs still find the code
    findings = scan_all()
    assert not findings, (
        f"{len(findings)} texts bypass the catalogue (wrap them in t()/tn()/N_, or end the "
        f"line with {MARKER!r} if no person reads them):\n" + "\n".join(map(str, findings))
    )


# The scanner itself, on small snippets ----------------------------------------------------


def _texts(source: str) -> list[str]:
    return [finding.text for finding in scan_source(source)]


def test_a_literal_sentence_is_reported_with_its_line() -> None:
    source = 'x = 1\nreply = "Your request was filed."\n'
    assert scan_source(source, "bot/x.py") == [Finding("bot/x.py", 2, "Your request was filed.")]
    assert str(scan_source(source, "bot/x.py")[0]) == "bot/x.py:2: 'Your request was filed.'"


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ('x = f"Approved by {who}"', "Approved by {}"),
        ('button("Approve", "approve_request")', "Approve"),
        ('header = "*Reason:*"', "*Reason:*"),
        ('raise ValueError("Use 1 to 100 characters.")', "Use 1 to 100 characters."),
        ('raise FileProblem(f"Row {n} has no e-mail address")', "Row {} has no e-mail address"),
        ('label = f"€{amount}"', "€{}"),
        ('t("At most €2,500.00")', "At most €2,500.00"),  # amounts go through i18n.money
        ('lines.append(t("Done") + " and more text")', " and more text"),
        ('t("Approved by {who}", who="the bot itself")', "the bot itself"),  # a field
        ('respond({"text": "Something went wrong"})', "Something went wrong"),  # a value
    ],
)
def test_text_for_people_is_reported(source: str, text: str) -> None:
    assert _texts(source) == [text]


@pytest.mark.parametrize(
    "source",
    [
        't("Your request was filed.")',
        'i18n.t("Approved by {who}", who=name)',
        'tn("{count} row", "{count} rows", n, count=n)',
        'REFUSAL = N_("Only HR and admins can request onboarding.")',
        'def f():\n    """Show the reply to the person."""\n',
        'class C:\n    """A request as the approver sees it."""\n',
        'log.info("request filed by someone")',
        'logger.warning("Slack said %s for the view", error)',
        'self.log.error("could not send the DM", extra={"reason": "Slack was down"})',
        'logging.getLogger(__name__).info("worker started its loop")',
        'raise TypeError(f"cannot write {value} as JSON")',
        'raise RuntimeError("the lane is closed now")',
        'assert x, "the store gave no request back"',
        'headers = {"Content Type": "text/csv"}',
        '__all__ = ["Table", "ValidRow"]',
        'if reply == "Nothing here.":\n    pass',
        'message.removeprefix("Value error, ")',
        'CURRENCY = re.compile(r"^(?:€|eur(?:os?)?)\\s*")',  # reads amounts, shows none
        'FIELD = "plain_text"',
        'action_id = "approve_request"',
        'pattern = r"%Y-%m-%d %H:%M"',
        'emoji = ":white_check_mark:"',
        'x = "Reason: none"  # i18n: not for people',
        'x = (\n    "Operators read this"\n    " in the log only"  # i18n: not for people\n)',
    ],
)
def test_what_no_person_reads_or_the_catalogue_has_is_not_reported(source: str) -> None:
    assert _texts(source) == []


def test_a_euro_sign_is_reported_even_where_words_would_not_be() -> None:
    assert _texts('log.info(f"{amount}€ moved")') == ["{}€ moved"]
    assert _texts('"""Amounts read €1,234.56."""') == []  # a docstring only shows it
    assert _texts('x = "€"  # i18n: not for people') == []

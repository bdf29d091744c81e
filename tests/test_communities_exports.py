"""The public surface of bot.communities, and what the package may depend on."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import bot.communities

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bot" / "communities"

EXPECTED = {
    # The client
    "CommunitiesClient",
    "TokenCache",
    "IssuedToken",
    # Errors
    "CommunitiesError",
    "AlreadyMember",
    "AmbiguousCreate",
    "AuthenticationFailed",
    "CommunityNotAvailable",
    "Interrupted",
    "InvalidRequest",
    "NotFound",
    "RateLimited",
    "ServiceUnavailable",
    "Timeout",
    # Models
    "Community",
    "CommunityList",
    "NewMember",
    "RemainingCredit",
    "RevokedCredit",
    # Logging
    "RedactAddresses",
    "install_log_filter",
    # What the runtime may observe (metrics)
    "AttemptObserver",
    "RenewalObserver",
}

# Layers above the client: it must work without any of them.
FORBIDDEN = ("bot.runtime", "bot.slack", "bot.console", "bot.sandbox", "bot.slack_standin")


def test_all_is_exactly_the_expected_surface() -> None:
    exported = bot.communities.__all__
    assert len(exported) == len(set(exported)), "a name is listed twice"
    assert set(exported) == EXPECTED
    assert list(exported) == sorted(exported)


def test_every_exported_name_exists() -> None:
    for name in bot.communities.__all__:
        assert getattr(bot.communities, name) is not None, name


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from bot.communities import *", namespace)
    assert set(namespace) - {"__builtins__"} == EXPECTED


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_module_of_the_package_imports_a_layer_above_it() -> None:
    sources = sorted(PACKAGE.glob("*.py"))
    assert sources
    for source in sources:
        for module in _imported_modules(source):
            assert not module.startswith(FORBIDDEN), f"{source.name} imports {module}"


def test_importing_the_package_loads_no_layer_above_it_and_no_log_filter() -> None:
    probe = (
        "import json, logging, sys; import bot.communities; "
        "print(json.dumps({'modules': sorted(m for m in sys.modules if m.startswith('bot')),"
        " 'filters': len(logging.getLogger('httpx').filters)}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    seen = json.loads(done.stdout)
    loaded = [m for m in seen["modules"] if m.startswith(FORBIDDEN)]
    assert loaded == []
    assert seen["filters"] == 0  # the entry point installs it (bot.__main__), not an import

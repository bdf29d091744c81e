"""`python -m bot policy check FILE`: is this POLICY_FILE usable, and what does it decide?

Checks the file (every problem with its TOML path, all in one pass) and asks the configured
Communities API (the embedded sandbox when COMMUNITIES_API_URL is unset) whether it lists
each community for this client; `--no-api` leaves that one question out. Exit 2 on any
problem, after printing them all; otherwise prints the effective policy per community and
exits 0. Start-up refuses a file with the same lines (bot.runtime.settings, bootstrap).
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import TextIO

import redis

from bot.communities import CommunitiesError
from bot.domain.policy_file import PolicyFileError
from bot.local.embedded import sandbox_urls, start_sandbox
from bot.runtime.bootstrap import connect_redis
from bot.runtime.communities import communities_client
from bot.runtime.policy import describe_book, listed_community_ids, policy_book, unlisted_problems
from bot.runtime.settings import ConfigError, Process, Settings, load_settings
from bot.storage import RedisServer

EXIT_OK, EXIT_PROBLEMS = 0, 2


def run_policy_check(path: str, *, use_api: bool, out: TextIO, err: TextIO) -> int:
    try:
        # The environment is the layer the file refines; POLICY_FILE itself is FILE here.
        settings = load_settings(Process.CONSOLE, policy_file=None)
    except ConfigError as exc:
        _report(err, path, exc.problems)
        return EXIT_PROBLEMS
    settings = settings.model_copy(update={"policy_file": path})
    problems: list[str] = []
    book = None
    try:
        book = policy_book(settings, require_channel=True)
        named = book.community_ids or ()
    except PolicyFileError as exc:
        problems += exc.problems
        named = exc.community_ids
    api_note = "API check skipped (--no-api): the community IDs were not checked"
    if use_api and named:
        where = "the SANDBOX" if settings.uses_sandbox else settings.communities_api_url
        try:
            listed = _listed_communities(settings)
        except (CommunitiesError, redis.RedisError, OSError, ConfigError) as exc:
            problems.append(
                f"API: could not list the communities at {where} ({_reason(exc)}); "
                "fix that, or pass --no-api to check the file alone"
            )
        else:
            problems += unlisted_problems(named, listed)
            api_note = f"API: {where} lists every community named ({len(named)})"
    if problems:
        _report(err, path, problems)
        return EXIT_PROBLEMS
    assert book is not None
    for line in describe_book(book):
        print(line, file=out)
    print(api_note, file=out)
    print("A restart reads the file again (there is no reload).", file=out)
    return EXIT_OK


def _report(err: TextIO, path: str, problems: list[str]) -> None:
    print(f"{path}: {len(problems)} problem(s):", file=err)
    for line in problems:
        print(f"  {line}", file=err)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConfigError):
        return "; ".join(exc.problems)
    return str(exc) or type(exc).__name__


def _listed_communities(settings: Settings) -> set[str]:
    """Ask the API as the bot would: the same client, the configured Redis (token cache)
    or a throwaway embedded one, the embedded sandbox when no API URL is set."""
    with contextlib.ExitStack() as started:
        if settings.redis_url is not None:
            url = settings.redis_url.get_secret_value()
        else:
            folder = started.enter_context(tempfile.TemporaryDirectory(prefix="policy-check-"))
            server = RedisServer(Path(folder) / "redis")
            url = server.start()
            started.callback(server.stop)
        client = connect_redis(
            url, settings.redis_socket_timeout_seconds, tls_verify=settings.redis_tls_verify
        )
        started.callback(client.close)
        urls = None
        if settings.uses_sandbox:
            sandbox = start_sandbox(settings)
            started.callback(sandbox.stop)
            urls = sandbox_urls(sandbox)
        api = communities_client(
            settings,
            client,
            base_url=urls.base_url if urls else None,
            token_url=urls.token_url if urls else None,
        )
        started.callback(api.close)
        return listed_community_ids(api)

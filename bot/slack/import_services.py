"""What the import listeners share (bot.slack.services.Services.imports)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.bulk import ImportService
from bot.domain.imports import DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS
from bot.slack.downloads import FileHosts
from bot.slack.import_notifier import SlackImportNotifier
from bot.storage.imports import RedisImportStore


@dataclass
class ImportServices:
    service: ImportService
    store: RedisImportStore
    notifier: SlackImportNotifier
    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS
    # Files with at most this many rows are checked within Slack's 3 seconds, so every
    # problem shows on the file field; larger ones are checked after, behind a
    # "checking" view that then shows the outcome.
    inline_rows: int = 1000
    download_seconds: float = 1.5
    # Where attached files may be fetched with the bot token (Slack's file host, and
    # SLACK_EXTRA_FILE_URLS).
    file_hosts: FileHosts = field(default_factory=FileHosts)

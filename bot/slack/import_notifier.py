"""Tells people about imports in Slack: the approval message (updated in place, throttled),
the file of refused rows beside it, the requester's DMs and the result file.

Slack rate-limits chat.update per channel, and an import changes many times a second. So
the approval message is updated at most once per `progress_seconds` across every process
(bot.storage.imports.RedisImportStore.take_update_turn): a change that finds the turn taken
leaves the import on the active list, and `refresh` (every runner calls it twice a second)
shows it once the turn is free. The message always renders the import as it is now.
"""

from __future__ import annotations

import csv
import logging
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from decimal import Decimal
from typing import IO, Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import i18n
from bot.domain.audit import spreadsheet_safe
from bot.domain.bulk import ImportEvent, ImportRequest, RowResult
from bot.domain.requests import Operation
from bot.i18n import N_, t
from bot.slack.blocks.imports import approval_message, requester_dm, result_comment, summary
from bot.slack.blocks.kit import section
from bot.slack.text import mentions
from bot.storage.imports import RedisImportStore

log = logging.getLogger("bot.slack.imports")

T = TypeVar("T")

RESULT_COLUMNS = [
    N_("row"),
    N_("email"),
    N_("outcome"),
    N_("remaining_credit"),
    N_("correlation_id"),
    N_("reason"),
]


class SlackImportNotifier:
    def __init__(
        self,
        client: WebClient,
        store: RedisImportStore,
        approvals_channel: str,
        *,
        approvers: Callable[[], set[str]] = set,
        progress_seconds: float = 3.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.approvers = approvers  # who a reminder mentions
        self.store = store
        self.channel = approvals_channel
        self.progress_seconds = progress_seconds
        self.now = now

    # With POLICY_FILE: each community's channel ("" for none: APPROVALS_CHANNEL).
    channel_for: Callable[[str], str] | None = None
    # Whose language, set by the runtime: a person's Slack locale (the requester's DMs and
    # result file), a community's policy `language` (the approval message, its thread).
    locale_of: Callable[[str], str] | None = None
    language_of: Callable[[str], str] | None = None

    def for_person(self, user_id: str) -> AbstractContextManager[object]:
        return i18n.use(self._language_of_person(user_id))

    def for_community(self, community_id: str) -> AbstractContextManager[object]:
        return i18n.use(self._language_of_community(community_id))

    def _language_of_person(self, user_id: str) -> str:
        locale = ""
        if self.locale_of is not None:
            try:
                locale = self.locale_of(user_id)
            except Exception as exc:  # Slack down: English rather than no DM
                log.info("no locale for a DM: %s", type(exc).__name__)
        return i18n.of_locale(locale)

    def _language_of_community(self, community_id: str) -> str:
        language = self.language_of(community_id) if self.language_of is not None else ""
        return i18n.of_locale(language)

    def approvals_channel(self, community_id: str) -> str:
        found = self.channel_for(community_id) if self.channel_for is not None else ""
        return found or self.channel

    # bot.domain.bulk.ImportNotifier ------------------------------------------------------

    def publish_filed(self, request: ImportRequest) -> None:
        """Post the approval message, the file of refused rows in its thread, and DM the
        requester."""
        with self.for_community(request.community_id):
            message = approval_message(request, self.now())
        reply = self._attempt(
            "posting the approval message",
            request.id,
            lambda: self.client.chat_postMessage(
                channel=self.approvals_channel(request.community_id), **message
            ),
        )
        if reply is not None:
            channel, ts = str(reply["channel"]), str(reply["ts"])
            self.store.set_fields(
                request.id, channel=channel, message_ts=ts, shown_version=str(request.version)
            )
            self._attempt(
                "posting the people in the file",
                request.id,
                lambda: self._post_people(request, channel, ts),
            )
            if request.invalid_count:
                self._attempt(
                    "posting the refused rows",
                    request.id,
                    lambda: self._post_refused(request, channel, ts),
                )
        with self.for_person(request.requester_id):
            dm = requester_dm(request, ImportEvent.FILED, self.now())
        self._attempt(
            "the filed DM",
            request.id,
            lambda: self.client.chat_postMessage(channel=request.requester_id, **dm),
        )
        self.refresh(request.id)  # approved at once (no approval needed): show it moving

    def remind(self, request: ImportRequest) -> None:
        if not request.message_ts:
            return
        approvers = sorted(self.approvers() - {request.requester_id})
        lead = f"{mentions(approvers)}: " if approvers else ""
        with self.for_community(request.community_id):
            text = t("Reminder: import {id} is still waiting for approval", id=request.id)
            block = section(
                lead + t(":bell: Still waiting for approval: {summary}", summary=summary(request))
            )
        self.client.chat_postMessage(
            channel=request.channel,
            thread_ts=request.message_ts,
            text=lead + text,
            blocks=[block],
        )

    def import_changed(self, import_id: str, event: ImportEvent) -> None:
        self.refresh(import_id)
        request = self.store.get(import_id)
        if request is not None and event is not ImportEvent.FINISHED:
            with self.for_person(request.requester_id):
                dm = requester_dm(request, event, self.now())
            self._attempt(
                f"the {event.value} DM",
                import_id,
                lambda: self.client.chat_postMessage(channel=request.requester_id, **dm),
            )

    # Called by every import runner, about twice a second per active import ----------------

    def refresh(self, import_id: str) -> None:
        """Bring the approval message up to date when this process has the turn; post the
        result once every row has its outcome; drop the import from the active list once
        nothing more is due."""
        request = self.store.get(import_id)
        if request is None:
            self.store.forget_active(import_id)
            return
        shown = request.shown_version >= request.version
        if (
            request.message_ts
            and not shown
            and self.store.take_update_turn(import_id, self.progress_seconds)
        ):
            with self.for_community(request.community_id):
                message = approval_message(request, self.now())
            updated = self._attempt(
                "updating the approval message",
                import_id,
                lambda: self.client.chat_update(
                    channel=request.channel, ts=request.message_ts, **message
                ),
            )
            if updated is not None:
                self.store.set_fields(import_id, shown_version=str(request.version))
                shown = True
        ran = request.started_at > 0 or request.total == request.stopped_rows
        due = request.finished and not request.result_posted and shown and ran
        if due and self.store.take_result_turn(import_id):
            self._post_result(request)
            return
        if request.is_final and shown and (request.result_posted or not ran):
            self.store.forget_active(import_id)
        if not request.message_ts and request.is_final:
            self.store.forget_active(import_id)  # never posted: nothing to update

    # Files ---------------------------------------------------------------------------------

    def _post_people(self, request: ImportRequest, channel: str, ts: str) -> None:
        """Every accepted row's name and address, in the thread: the approver sees who the
        import is about (the message itself names the first few). Written for the
        approvers: in the community's language."""
        with self.for_community(request.community_id), _spooled() as out:
            writer = csv.writer(out, delimiter=i18n.csv_style().delimiter)
            adding = request.operation is Operation.ADD
            writer.writerow(
                [t("row"), t("first name"), t("last name"), t("email"), t("credit")]
                if adding
                else [t("row"), t("email")]
            )
            for number, first, last, email, credit in self.store.row_people(request.id):
                cells = [first, last, email, _csv_amount(credit)] if adding else [email]
                writer.writerow([str(number), *(spreadsheet_safe(cell) for cell in cells)])
            out.flush()
            total = _count(request.total)
            comment = (
                t(
                    "The {count} people `{id}` would onboard, row by row.",
                    count=total,
                    id=request.id,
                )
                if adding
                else t(
                    "The {count} people `{id}` would offboard, row by row.",
                    count=total,
                    id=request.id,
                )
            )
            self.client.files_upload_v2(
                channel=channel,
                thread_ts=ts,
                file=out.name,
                filename=f"import-{request.id}-people.csv",
                title=t("Who {id} is about", id=request.id),
                initial_comment=comment,
            )

    def _post_refused(self, request: ImportRequest, channel: str, ts: str) -> None:
        rows = self.store.invalid_rows(request.id)
        with self.for_community(request.community_id), _spooled() as out:
            count = _write_invalid_rows(rows, out)
            out.flush()
            self.client.files_upload_v2(
                channel=channel,
                thread_ts=ts,
                file=out.name,
                filename=f"import-{request.id}-refused-rows.csv",
                title=t("Rows of {id} that will not be carried out", id=request.id),
                initial_comment=t(
                    "{count} rows of `{id}` will not be carried out, with the reason for each.",
                    count=_count(count),
                    id=request.id,
                ),
            )

    def _post_result(self, request: ImportRequest) -> None:
        """The per-row result file: by DM to the requester, and in the approval message's
        thread. Written to a temporary file a page of rows at a time."""
        name = f"import-{request.id}-results.csv"
        # Each copy is written for its reader: the requester's in their Slack language, the
        # thread's in the community's (Dutch: `;`, decimal comma, a BOM for Excel); one file
        # when both read the same language.
        readers = {"dm": self._language_of_person(request.requester_id)}
        if request.message_ts:
            readers["thread"] = self._language_of_community(request.community_id)
        with ExitStack() as files:
            written: dict[str, str] = {}
            for language in sorted(set(readers.values())):
                with i18n.use(language):
                    out = files.enter_context(_spooled())
                    self._write_result(request, out)
                    out.flush()
                written[language] = out.name
            with i18n.use(readers["dm"]):
                dm = self._attempt(
                    "opening the requester's DM",
                    request.id,
                    lambda: self.client.conversations_open(users=request.requester_id),
                )
                if dm is not None:
                    self._attempt(
                        "the result file by DM",
                        request.id,
                        lambda: self.client.files_upload_v2(
                            channel=str(dm["channel"]["id"]),
                            file=written[readers["dm"]],
                            filename=name,
                            title=t("Result of import {id}", id=request.id),
                            initial_comment=result_comment(request, for_requester=True),
                        ),
                    )
            if "thread" in readers:
                with i18n.use(readers["thread"]):
                    self._attempt(
                        "the result file in the thread",
                        request.id,
                        lambda: self.client.files_upload_v2(
                            channel=request.channel,
                            thread_ts=request.message_ts,
                            file=written[readers["thread"]],
                            filename=name,
                            title=t("Result of import {id}", id=request.id),
                            initial_comment=result_comment(request, for_requester=False),
                        ),
                    )
        self.store.set_fields(request.id, result_posted="1")
        log.info("import %s: result posted", request.id)

    def _write_result(self, request: ImportRequest, out: IO[str]) -> int:
        writer = csv.writer(out, delimiter=i18n.csv_style().delimiter)
        writer.writerow([t(column) for column in RESULT_COLUMNS])
        refused = {row.number: row for row in self.store.invalid_rows(request.id)}
        count = 0
        for record in self.store.row_records(request.id):
            for number in sorted(n for n in refused if n < record.number):
                _write_refused(writer, refused.pop(number))
                count += 1
            credit = record.credit
            if request.operation is Operation.REMOVE and record.result == RowResult.REMOVED:
                reason = record.outcome + (
                    t(" Revoked credit: {credit}.", credit=_csv_amount(credit))
                    if credit is not None
                    else ""
                )
                credit_text = _csv_amount(Decimal("0.00"))
            else:
                reason = record.outcome
                credit_text = _csv_amount(credit) if credit is not None else ""
            writer.writerow(
                [
                    str(record.number),
                    spreadsheet_safe(record.email),
                    _outcome(record.result) if record.result else t("not finished"),
                    credit_text,
                    spreadsheet_safe(record.correlation_id),
                    spreadsheet_safe(reason),
                ]
            )
            count += 1
        for number in sorted(refused):
            _write_refused(writer, refused[number])
            count += 1
        return count

    # Helpers -------------------------------------------------------------------------------

    def _attempt(self, what: str, import_id: str, step: Callable[[], T]) -> T | None:
        """Run one step; a failure is logged (its error code or type, never the content)."""
        try:
            return step()
        except SlackApiError as exc:
            response: Any = exc.response
            code = response.get("error") if hasattr(response, "get") else "unknown_error"
            log.warning("%s failed for import %s: %s", what, import_id, code)
        except Exception as exc:
            log.warning("%s failed for import %s: %s", what, import_id, type(exc).__name__)
        return None


def _write_refused(writer: Any, row: Any) -> None:
    writer.writerow(
        [
            str(row.number),
            spreadsheet_safe(row.email),
            RowResult.REFUSED.words,
            "",
            "",
            spreadsheet_safe(row.reason),
        ]
    )


def _write_invalid_rows(rows: Any, out: IO[str]) -> int:
    """The refused rows as CSV for the reader (bot.domain.imports.write_invalid_rows'
    columns, with the reader's headers and separator); returns the row count."""
    writer = csv.writer(out, delimiter=i18n.csv_style().delimiter)
    writer.writerow([t("row"), t("email"), t("reason")])
    count = 0
    for row in rows:
        writer.writerow(
            [str(row.number), spreadsheet_safe(row.email), spreadsheet_safe(row.reason)]
        )
        count += 1
    return count


def _outcome(result: str) -> str:
    """A row's outcome in the reader's words (an unknown value as it is)."""
    try:
        return RowResult(result).words
    except ValueError:
        return result


def _csv_amount(amount: Decimal | str) -> str:
    """An amount in a CSV cell: as stored for English (unchanged), with the reader's
    decimal mark otherwise, so Dutch Excel reads a number."""
    if i18n.current() == "en" or amount == "":
        return str(amount)
    try:
        return i18n.decimal_for_csv(Decimal(amount))
    except ArithmeticError:
        return str(amount)


def _count(number: int) -> str:
    """A count with the reader's thousands separator (1,234 / 1.234)."""
    written = f"{number:,}"
    return written if i18n.current() == "en" else written.replace(",", ".")


def _spooled() -> Any:
    """A temporary CSV file in the reader's encoding (Dutch: UTF-8 with a BOM)."""
    return tempfile.NamedTemporaryFile(
        "w+", suffix=".csv", newline="", encoding=i18n.csv_style().encoding
    )

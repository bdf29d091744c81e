"""The Import modal was submitted.

Where the work happens, and why: Slack waits at most 3 seconds for the answer, and only
that answer can put an error on the file field (`response_action: errors`). So the ack does
what is bounded: the role, the choices, fetching the file (at most IMPORT_MAX_BYTES, within
IMPORT_DOWNLOAD_SECONDS: a slow Slack gets "press Import again", never a crash), reading
its header and counting its rows. A file of up to IMPORT_INLINE_ROWS rows (a few hundred
milliseconds of checks) is then checked and filed in the ack too, so every problem shows
on the file field and the modal keeps what was chosen. A larger file's rows are checked
after the ack, behind a "checking" view that `views.update` replaces with the outcome:
the import filed, or the modal again, as it was, with the problem on top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.communities import Community
from bot.domain.access import TABLE, Action, Actor
from bot.domain.bulk import ImportRefused, ImportRequest
from bot.domain.imports import FileProblem, Table, check_rows, open_table, too_big
from bot.domain.requests import Operation
from bot.i18n import N_, t
from bot.slack.blocks.imports import (
    COMMUNITY,
    FILE,
    NOTE,
    OPERATION,
    checking_view,
    filed_view,
    import_modal,
)
from bot.slack.downloads import DownloadFailed, download
from bot.slack.errors import reports_errors
from bot.slack.listeners.imports.command import UNAVAILABLE, carrying, offered
from bot.slack.users import MembershipUnknown

if TYPE_CHECKING:
    from bot.slack.import_services import ImportServices
    from bot.slack.services import Services

TRY_AGAIN = N_("Couldn't check your role with Slack just now; nothing was filed. Try again.")
REOPEN = N_(
    "This form is out of date. Close it and run /community import again; nothing was filed."
)


def handle_import_submission(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    services: Services,
) -> None:
    context["filed_import_id"], context["import_later"], context["import_view_id"] = (
        None,
        None,
        None,
    )
    user_id = body["user"]["id"]
    imports = services.imports
    if imports is None:
        ack(response_action="errors", errors={FILE: t(UNAVAILABLE)})
        return
    try:
        roles = services.roles_anywhere(user_id, services.quick_roles.roles_of(user_id))
    except MembershipUnknown:
        ack(response_action="errors", errors={COMMUNITY: t(TRY_AGAIN)})
        return
    if not roles & TABLE[Action.FILE].roles:  # before the file is fetched
        ack(response_action="errors", errors={COMMUNITY: t("Only HR may import employees.")})
        return
    communities = offered(view)
    if communities is None:
        ack(response_action="errors", errors={COMMUNITY: t(REOPEN)})
        return
    choice = _choices(view)
    if choice["community_id"] not in communities:
        ack(
            response_action="errors",
            errors={COMMUNITY: t("Choose one of the communities offered.")},
        )
        return
    attached = choice["files"]
    if not attached:
        ack(response_action="errors", errors={FILE: t("Attach a CSV file.")})
        return
    operation = Operation(choice["operation"] or Operation.ADD.value)
    try:
        data = _fetch(attached[0], client, imports)
        table = open_table(data, operation, max_rows=imports.max_rows, max_bytes=imports.max_bytes)
    except (DownloadFailed, FileProblem) as exc:
        ack(response_action="errors", errors={FILE: str(exc)})
        return
    filing = {
        "community_id": choice["community_id"],
        "community_name": communities[choice["community_id"]],
        "operation": operation.value,
        "note": choice["note"],
        "file_name": str(attached[0].get("name") or "import.csv"),
    }
    if len(table.rows) > imports.inline_rows:
        context["import_later"] = {**filing, "data": data}
        context["import_view_id"] = body["view"]["id"]
        ack(
            response_action="update",
            view=checking_view(len(table.rows), filing["file_name"], services.environment),
        )
        return
    try:
        filed = _file(table, filing, user_id, services, imports)
    except ImportRefused as exc:
        ack(response_action="errors", errors={FILE: str(exc)})
        return
    context["filed_import_id"] = filed.id
    ack()


@reports_errors
def after_import_submission(
    body: dict[str, Any],
    client: WebClient,
    services: Services,
    filed_import_id: str | None,
    import_later: dict[str, Any] | None,
    import_view_id: str | None,
) -> None:
    """After the ack: publish what was filed, or check a large file and show the outcome."""
    imports = services.imports
    if imports is None:
        return
    if filed_import_id:
        request = imports.store.get(filed_import_id)
        if request is not None:
            imports.service.publish_filed(request)
        return
    if not import_later or not import_view_id:
        return
    user_id = body["user"]["id"]
    filing = {k: v for k, v in import_later.items() if k != "data"}
    operation = Operation(filing["operation"])
    try:
        table = open_table(
            import_later["data"], operation, max_rows=imports.max_rows, max_bytes=imports.max_bytes
        )
        filed = _file(table, filing, user_id, services, imports)
    except (FileProblem, ImportRefused) as exc:
        communities = offered(body["view"]) or {}
        again = import_modal(
            [_community(cid, name) for cid, name in communities.items()],
            services.environment,
            max_rows=imports.max_rows,
            max_bytes=imports.max_bytes,
            community_id=filing["community_id"],
            operation=operation,
            note=filing["note"],
            problem=t("{problem} Attach the file again when it is fixed.", problem=str(exc)),
        )
        again = carrying(again, [_community(c, n) for c, n in communities.items()])
        client.views_update(view_id=import_view_id, view=again)
        return
    client.views_update(view_id=import_view_id, view=filed_view(filed, services.environment))
    imports.service.publish_filed(filed)


def _file(
    table: Table,
    filing: dict[str, str],
    user_id: str,
    services: Services,
    imports: ImportServices,
) -> ImportRequest:
    note = filing["note"]
    read = check_rows(
        table,
        community_id=filing["community_id"],
        max_credit=services.requests.policy_of(filing["community_id"]).max_credit,
        default_reason=note or f"Offboarded by import of {filing['file_name']}",  # i18n: recorded
    )
    email = services.users.email_of(user_id)  # the cache first, Slack only when it has none
    roles = services.roles.roles_of(user_id)
    return imports.service.file(
        read,
        community_id=filing["community_id"],
        community_name=filing["community_name"],
        actor=Actor(user_id, email, roles),
        note=note,
        file_name=filing["file_name"],
    )


def _fetch(attached: dict[str, Any], client: WebClient, imports: ImportServices) -> bytes:
    size = attached.get("size")
    if isinstance(size, int) and size > imports.max_bytes:
        raise too_big(size, imports.max_bytes)  # refused before a byte is fetched
    url = str(attached.get("url_private_download") or attached.get("url_private") or "")
    if not url:
        raise DownloadFailed(t("Slack sent no link to the file; attach it again."))
    return download(
        url,
        client.token or "",
        max_bytes=imports.max_bytes,
        seconds=imports.download_seconds,
        hosts=imports.file_hosts,
    )


def _choices(view: dict[str, Any]) -> dict[str, Any]:
    values = view.get("state", {}).get("values", {})

    def state(block_id: str) -> dict[str, Any]:
        return dict((values.get(block_id) or {}).get(block_id) or {})

    option = state(COMMUNITY).get("selected_option") or {}
    kind = state(OPERATION).get("selected_option") or {}
    return {
        "community_id": str(option.get("value") or ""),
        "operation": str(kind.get("value") or ""),
        "note": str(state(NOTE).get("value") or "").strip()[:1000],
        "files": list(state(FILE).get("files") or []),
    }


def _community(community_id: str, name: str) -> Community:
    return Community(id=community_id, name=name)

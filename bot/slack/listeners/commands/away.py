"""/community away <until date> <@someone> and /community away off: an approver names who
decides in their place, up to and including that day in TIMEZONE (bot.domain.delegation).

manifest.yml keeps `should_escape: false` (the e-mail addresses of the other subcommands
arrive as typed), so a person typed as "@someone" reaches us as plain text, which names no
Slack user reliably. We therefore take a mention only in its escaped form (`<@U…>`, as a
client or a workflow sends it) or a member ID (`U…`); anything else opens a small modal
with a date picker and a user picker, prefilled with the date when one was typed."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack

from bot import i18n
from bot.domain.delegation import Delegation, away_problem, local_day
from bot.domain.roles import Role
from bot.i18n import t
from bot.slack.blocks.modals import away_modal, field_values
from bot.slack.blocks.replies import error_reply
from bot.slack.listeners.commands.invocation import Invocation
from bot.slack.text import mention, when

if TYPE_CHECKING:
    from bot.slack.services import Services

_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")
_MEMBER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def parse_person(word: str) -> str | None:
    """A Slack user ID from an escaped mention or a member ID; None for anything else."""
    found = _MENTION.match(word)
    if found:
        return found.group(1)
    return word if _MEMBER_ID.match(word) else None


def parse_day(word: str, today: date) -> date | None:
    """2026-12-31, today, tomorrow or +3d (days from today in TIMEZONE)."""
    relative = {"today": 0, "tomorrow": 1}
    if word.casefold() in relative:
        return today + timedelta(days=relative[word.casefold()])
    if match := re.fullmatch(r"\+(\d{1,3})d", word):
        return today + timedelta(days=int(match.group(1)))
    try:
        return date.fromisoformat(word)
    except ValueError:
        return None


def today_of(services: Services) -> date:
    return local_day(services.clock.now(), services.policy.schedule.timezone)


def away(call: Invocation) -> None:
    services = call.services
    words = call.args.split()
    if words and words[0].lower() == "off":
        ended = services.delegations.end(call.user_id) if services.delegations else None
        text = (
            t(
                "Welcome back: {delegate} no longer decides for you.",
                delegate=mention(ended.delegate_id),
            )
            if ended is not None
            else t("You had no stand-in.")
        )
        call.respond({"response_type": "ephemeral", "text": text})
        return
    day = parse_day(words[0], today_of(services)) if words else None
    person = parse_person(words[1]) if len(words) == 2 else None
    if day is not None and person is not None:
        call.respond(set_away(services, call.user_id, person, day))
        return
    view = away_modal(services.environment, day, services.policy.schedule.timezone.key)
    call.client.views_open(trigger_id=call.trigger_id, view=view)


def set_away(services: Services, absent_id: str, delegate_id: str, until: date) -> dict[str, Any]:
    """Store the delegation, or say why not; the reply to the absent approver."""
    problem = away_error(services, absent_id, delegate_id, until)
    if problem:
        return error_reply(problem)
    assert services.delegations is not None
    timezone = services.policy.schedule.timezone
    today = local_day(services.clock.now(), timezone)
    services.delegations.set(
        Delegation(absent_id, delegate_id, until, services.clock.now()), today=today
    )
    end = datetime.combine(until + timedelta(days=1), time.min, timezone).timestamp()
    return {
        "response_type": "ephemeral",
        "text": t(
            ":palm_tree: {delegate} decides what you could decide, for the "
            "communities you approve in, until {until} (the end of the last day, "
            "in {timezone}). `/community away off` ends it sooner.",
            delegate=mention(delegate_id),
            until=when(end),
            timezone=timezone.key,
        ),
    }


def away_error(services: Services, absent_id: str, delegate_id: str, until: date) -> str | None:
    if services.delegations is None:
        return t("Delegation is not available here.")
    if Role.MANAGER not in own_roles_anywhere(services, absent_id):
        return t("Only approvers can name someone to decide in their place.")
    today = local_day(services.clock.now(), services.policy.schedule.timezone)
    return away_problem(absent_id, delegate_id, until, today)


def own_roles_anywhere(services: Services, user_id: str) -> frozenset[Role]:
    """The roles `user_id` holds in their own right (ROLES_*, the file), no delegation."""
    roles = services.roles.roles_of(user_id)
    if services.per_community:
        assert services.book is not None and services.community is not None
        for community_id in services.book.communities:
            roles |= services.community.own_roles(user_id, community_id)
    return roles


def handle_away_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services
) -> None:
    """The modal's answer: errors on their field, else the delegation is stored and the
    modal closes (the confirmation goes to the approver as a DM)."""
    values = field_values(view)
    user_id = body["user"]["id"]
    day = parse_day(values.get("until") or "", today_of(services))
    delegate = values.get("delegate") or ""
    if day is None:
        ack(response_action="errors", errors={"until": t("Choose the last day you are away.")})
        return
    if not delegate:
        ack(response_action="errors", errors={"delegate": t("Choose who decides for you.")})
        return
    problem = away_error(services, user_id, delegate, day)
    if problem:
        with i18n.use("en"):  # which field it concerns, from its English words
            about_the_date = "date" in (away_error(services, user_id, delegate, day) or "")
        field = "until" if about_the_date else "delegate"
        ack(response_action="errors", errors={field: problem})
        return
    reply = set_away(services, user_id, delegate, day)
    ack()
    services.notifier.client.chat_postMessage(channel=user_id, text=str(reply["text"]))

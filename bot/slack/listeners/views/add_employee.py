"""The Add employee modal was submitted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext

from bot.domain.access import Actor
from bot.domain.forms import AddEmployeeForm, DateCheck, parse_add_form
from bot.domain.requests import MemberRequest
from bot.slack.blocks.modals import field_values
from bot.slack.listeners.views.request_submission import submit_request

if TYPE_CHECKING:
    from bot.slack.services import Services


def handle_add_employee_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, services: Services
) -> None:
    user_id = body["user"]["id"]
    raw = field_values(view)

    def file(communities: dict[str, str], actor: Actor) -> MemberRequest | dict[str, str]:
        form = parse_add_form(
            raw,
            max_credit=services.requests.policy_of(raw.get("community_id") or "").max_credit,
            communities=set(communities),
            dates=DateCheck(services.policy.schedule, services.clock.now()),
        )
        if not isinstance(form, AddEmployeeForm):
            return form
        return services.requests.file_add(form, communities[form.community_id], actor)

    submit_request(ack, context, user_id, view, services, file)

"""The effective policy per community in words: `python -m bot policy check` prints it and
`/community policy` shows it to an admin (one describer for both)."""

from __future__ import annotations

from bot.domain.community_policy import CommunityPolicy, PolicyBook
from bot.domain.money import format_euros


def describe_book(book: PolicyBook) -> list[str]:
    lines = [f"Effective policy ({book.source}):"]
    everywhere = {role: ids for role, ids in book.global_roles.items() if ids}
    if everywhere:
        granted = "; ".join(f"{role} {', '.join(ids)}" for role, ids in everywhere.items())
        lines.append(f"  in every community (ROLES_*): {granted}")
    if book.everywhere is not None:
        lines += _describe(book.everywhere, "every community")
    for community_id, policy in book.communities.items():
        lines += _describe(policy, community_id)
    return lines


def _describe(policy: CommunityPolicy, title: str) -> list[str]:
    def origin(key: str) -> str:
        where = policy.origins.get(key, "")
        return f"  ({where})" if where and not where.startswith("communities.") else ""

    def ids(values: tuple[str, ...]) -> str:
        return ", ".join(values) if values else "-"

    if policy.auto_approve_add_up_to is None:
        auto = "-"
    else:
        auto = f"an onboarding of at most {format_euros(policy.auto_approve_add_up_to)}"
    if policy.escalate_after_hours is None:
        escalation = "-"
    else:
        escalation = f"after {policy.escalate_after_hours:g} h to {ids(policy.escalate_to)}"
        if policy.escalate_channel:
            escalation += f", posted in {policy.escalate_channel}"
    rows = [
        ("channel", policy.channel or "-", "channel"),
        ("requesters (hr)", ids(policy.requesters), "requesters"),
        ("approvers (manager)", ids(policy.approvers), "approvers"),
        ("support", ids(policy.support), "support"),
        ("approvals add", str(policy.approvals_add), "approvals.add"),
        ("approvals remove", str(policy.approvals_remove), "approvals.remove"),
        ("max credit", format_euros(policy.max_credit), "max_credit_eur"),
        ("auto-approve", auto, "auto_approve_add_up_to_eur"),
        ("escalation", escalation, "escalate_after_hours"),
        ("expiry", f"{policy.expiry_hours:g} h", "expiry_hours"),
        ("reminder", f"{policy.reminder_hours:g} h", "reminder_hours"),
        ("language", policy.language, "language"),
    ]
    return [f"[{title}]"] + [f"  {name:<20} {value}{origin(key)}" for name, value, key in rows]

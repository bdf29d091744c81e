"""The effective policy per community in words: `python -m bot policy check` prints it and
`/community policy` shows it to an admin (one describer for both).

The words are in the reader's language (the CLI runs in English); setting names, TOML
paths, environment variable names and Slack IDs stay as they are written in the policy."""

from __future__ import annotations

from babel.numbers import format_decimal

from bot.domain.community_policy import CommunityPolicy, PolicyBook
from bot.domain.money import format_euros
from bot.i18n import N_, current, t

WIDTH = 20  # the label column, as the English has always been laid out


def describe_book(book: PolicyBook) -> list[str]:
    lines = [t("Effective policy ({source}):", source=book.source)]
    everywhere = {role: ids for role, ids in book.global_roles.items() if ids}
    if everywhere:
        granted = "; ".join(f"{role} {', '.join(ids)}" for role, ids in everywhere.items())
        lines.append(t("  in every community (ROLES_*): {granted}", granted=granted))
    if book.everywhere is not None:
        lines += _describe(book.everywhere, t("every community"))
    for community_id, policy in book.communities.items():
        lines += _describe(policy, community_id)
    return lines


_LABELS = {
    "channel": N_("channel"),
    "requesters": N_("requesters (hr)"),
    "approvers": N_("approvers (manager)"),
    "support": N_("support"),
    "approvals.add": N_("approvals add"),
    "approvals.remove": N_("approvals remove"),
    "max_credit_eur": N_("max credit"),
    "auto_approve_add_up_to_eur": N_("auto-approve"),
    "escalate_after_hours": N_("escalation"),
    "expiry_hours": N_("expiry"),
    "reminder_hours": N_("reminder"),
    "language": N_("language"),
}


def _hours(value: float) -> str:
    """Hours as a number: `72`, `1.5` (Dutch `1,5`)."""
    if current() == "en":
        return f"{value:g}"
    return format_decimal(value, format="0.###", locale=current())


def _describe(policy: CommunityPolicy, title: str) -> list[str]:
    def origin(key: str) -> str:
        where = policy.origins.get(key, "")
        return f"  ({where})" if where and not where.startswith("communities.") else ""

    def ids(values: tuple[str, ...]) -> str:
        return ", ".join(values) if values else "-"

    if policy.auto_approve_add_up_to is None:
        auto = "-"
    else:
        auto = t(
            "an onboarding of at most {amount}",
            amount=format_euros(policy.auto_approve_add_up_to),
        )
    if policy.escalate_after_hours is None:
        escalation = "-"
    elif policy.escalate_channel:
        escalation = t(
            "after {hours} h to {approvers}, posted in {channel}",
            hours=_hours(policy.escalate_after_hours),
            approvers=ids(policy.escalate_to),
            channel=policy.escalate_channel,
        )
    else:
        escalation = t(
            "after {hours} h to {approvers}",
            hours=_hours(policy.escalate_after_hours),
            approvers=ids(policy.escalate_to),
        )
    values = [
        ("channel", policy.channel or "-"),
        ("requesters", ids(policy.requesters)),
        ("approvers", ids(policy.approvers)),
        ("support", ids(policy.support)),
        ("approvals.add", str(policy.approvals_add)),
        ("approvals.remove", str(policy.approvals_remove)),
        ("max_credit_eur", format_euros(policy.max_credit)),
        ("auto_approve_add_up_to_eur", auto),
        ("escalate_after_hours", escalation),
        ("expiry_hours", t("{hours} h", hours=_hours(policy.expiry_hours))),
        ("reminder_hours", t("{hours} h", hours=_hours(policy.reminder_hours))),
        ("language", policy.language),
    ]
    rows = [(t(_LABELS[key]), value, key) for key, value in values]
    width = max(WIDTH, *(len(name) + 1 for name, _, _ in rows))
    return [f"[{title}]"] + [f"  {name:<{width}} {value}{origin(key)}" for name, value, key in rows]

"""POLICY_FILE: the TOML file that gives each community its own people and rules.

    [defaults]                      every community inherits these
    [communities.<id>]              one community; its keys win over [defaults]

Keys (both tables): channel, requesters, approvers, support, approvals = {add, remove},
max_credit_eur, auto_approve_add_up_to_eur, escalate_after_hours, escalate_to,
escalate_channel, expiry_hours, reminder_hours, language. docs/policy.md describes each.

`read_policy` reads and checks a file in one pass and names every problem by its TOML path
(`communities.cc-acme-nl.aprovers: unknown key (did you mean approvers?)`); nothing is
ever silently defaulted. Whether the API lists each community is checked by the runtime,
which can reach the API (bot.runtime.policy).
"""

from __future__ import annotations

import copy
import difflib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from bot.domain.community_policy import (
    ENVIRONMENT_ORIGINS,
    CommunityPolicy,
    PolicyBase,
    PolicyBook,
)
from bot.domain.money import CENT

USER_OR_GROUP = re.compile(r"^[UWS][A-Z0-9]{2,}$")
CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,}$")
COMMUNITY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class PolicyFileError(Exception):
    """The file cannot be used; `problems` holds one line per problem, each with its path.
    `community_ids`: the communities it names, as far as it could be read (the API check
    still runs on them, in the same pass)."""

    def __init__(self, problems: list[str], community_ids: tuple[str, ...] = ()) -> None:
        self.problems = problems
        self.community_ids = community_ids
        super().__init__("\n".join(problems))


# Field types ----------------------------------------------------------------------------


def _user_or_group(value: str) -> str:
    if not USER_OR_GROUP.match(value):
        raise PydanticCustomError(
            "slack_id",
            "{value} is not a Slack user ID (U…/W…) or user-group ID (S…)",
            {"value": repr(value)},
        )
    return value


def _channel(value: str) -> str:
    if not CHANNEL.match(value):
        raise PydanticCustomError(
            "channel_id",
            "{value} is not a channel ID (C…/G…); use the ID, not the channel's name",
            {"value": repr(value)},
        )
    return value


def _amount(value: object) -> Decimal:
    """Euros: a string such as "250.00", or a whole number; two places at most."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise PydanticCustomError("amount", 'expected an amount in euros such as "250.00"')
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise PydanticCustomError(
            "amount", 'expected an amount in euros such as "250.00"'
        ) from None
    if not amount.is_finite():
        raise PydanticCustomError("amount", 'expected an amount in euros such as "250.00"')
    if amount < 0:
        raise PydanticCustomError("amount", "must not be negative")
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise PydanticCustomError("amount", "use at most two decimals (whole cents)")
    return amount.quantize(CENT)


def _hours(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise PydanticCustomError("hours", "expected a number of hours such as 8 or 1.5")
    if value <= 0:
        raise PydanticCustomError("hours", "must be more than 0")
    return float(value)


SlackIds = list[Annotated[StrictStr, AfterValidator(_user_or_group)]]
Channel = Annotated[StrictStr, AfterValidator(_channel)]
Amount = Annotated[Decimal, BeforeValidator(_amount)]
Hours = Annotated[float, BeforeValidator(_hours)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApprovalCounts(_Table):
    add: StrictInt | None = Field(default=None, ge=0, le=2)
    remove: StrictInt | None = Field(default=None, ge=0, le=2)


class PolicySection(_Table):
    """`[defaults]` or one `[communities.<id>]`: every key optional; unset inherits."""

    channel: Channel | None = None
    requesters: SlackIds | None = None
    approvers: SlackIds | None = None
    support: SlackIds | None = None
    approvals: ApprovalCounts | None = None
    max_credit_eur: Amount | None = None
    auto_approve_add_up_to_eur: Amount | None = None
    escalate_after_hours: Hours | None = None
    escalate_to: SlackIds | None = None
    escalate_channel: Channel | None = None
    expiry_hours: Hours | None = None
    reminder_hours: Hours | None = None
    language: Literal["en", "nl"] | None = None  # approval messages and their threads


class PolicyDocument(_Table):
    defaults: PolicySection = PolicySection()
    communities: dict[str, PolicySection] = Field(default_factory=dict)


SECTION_KEYS = tuple(PolicySection.model_fields)
APPROVAL_KEYS = tuple(ApprovalCounts.model_fields)


# Reading -------------------------------------------------------------------------------


def read_policy(path: str | Path, base: PolicyBase, *, require_channel: bool) -> PolicyBook:
    """The effective policy of every community the file names, on top of `base` (the
    environment). `require_channel`: every community must end up with a channel (a bot
    that talks to Slack needs one). Raises PolicyFileError naming every problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyFileError([f"{path}: cannot read the file ({exc.strerror})"]) from None
    except UnicodeDecodeError:
        raise PolicyFileError([f"{path}: not UTF-8 text"]) from None
    return parse_policy(text, base, require_channel=require_channel, source=str(path))


def parse_policy(
    text: str, base: PolicyBase, *, require_channel: bool, source: str = "POLICY_FILE"
) -> PolicyBook:
    try:
        # Floats as Decimal: an amount written without quotes stays exact.
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyFileError([f"{source}: malformed TOML: {_where(str(exc))}"]) from None
    problems, document, invalid = _validate(data)
    if document is not None:
        problems += _cross_checks(document, base, invalid, require_channel=require_channel)
    if problems:
        named = data.get("communities")
        raise PolicyFileError(problems, tuple(named) if isinstance(named, dict) else ())
    assert document is not None
    communities = {
        community_id: resolve(community_id, section, document.defaults, base)
        for community_id, section in document.communities.items()
    }
    return PolicyBook(source=source, global_roles=dict(base.roles), communities=communities)


def _where(message: str) -> str:
    """tomllib's "Expected … (at line 3, column 5)" as "line 3, column 5: Expected …"."""
    found = re.search(r"\s*\(at (line \d+, column \d+|end of document)\)$", message)
    if not found:
        return message
    where = found.group(1).replace("end of document", "the end of the file")
    return f"{where}: {message[: found.start()]}"


def _validate(data: dict[str, Any]) -> tuple[list[str], PolicyDocument | None, set[str]]:
    """Schema problems, and the document read without the keys that have them (so the
    cross-field checks still run, in the same pass), and the paths of those keys."""
    try:
        return [], PolicyDocument.model_validate(data), set()
    except ValidationError as exc:
        errors = exc.errors()
    errors = sorted(errors, key=lambda error: _position(data, error["loc"]))
    problems = [_describe(error) for error in errors]
    cleaned = copy.deepcopy(data)
    invalid: set[str] = set()
    for error in errors:
        loc = _key_path(error["loc"])
        invalid.add(".".join(loc))
        _drop(cleaned, loc)
    try:
        document = PolicyDocument.model_validate(cleaned)
    except ValidationError:
        document = None  # a shape too broken to check further (e.g. `defaults = 3`)
    return problems, document, invalid


def _position(data: dict[str, Any], loc: tuple[int | str, ...]) -> tuple[int, ...]:
    """Where an error's key sits in the file (TOML tables keep their order), so problems
    are listed top to bottom."""
    position: list[int] = []
    node: Any = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            position.append(list(node).index(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            position.append(part)
            node = node[part]
        else:
            break
    return tuple(position)


def _key_path(loc: tuple[int | str, ...]) -> tuple[str, ...]:
    """The TOML keys of an error's location, without list indexes."""
    keys: list[str] = []
    for part in loc:
        if isinstance(part, int):
            break  # a bad list item: the whole list is left out of the cross checks
        keys.append(part)
    return tuple(keys)


def _drop(data: dict[str, Any], loc: tuple[str, ...]) -> None:
    node: Any = data
    for part in loc[:-1]:
        if not isinstance(node, dict) or part not in node:
            return
        node = node[part]
    if isinstance(node, dict) and loc:
        node.pop(loc[-1], None)


def _describe(error: ErrorDetails) -> str:
    path = _toml_path(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{path}: unknown key{_suggestion(error['loc'])}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{path}: expected a table"
    if kind in ("tuple_type", "list_type"):
        return f'{path}: expected a list of IDs such as ["U0123ABCD"]'
    if kind in ("string_type",):
        return f"{path}: expected a string"
    if kind in ("int_type",):
        return f"{path}: expected a whole number"
    if kind == "less_than_equal":
        return f"{path}: must be at most {error.get('ctx', {}).get('le')}"
    if kind == "greater_than_equal":
        return f"{path}: must be at least {error.get('ctx', {}).get('ge')}"
    if kind == "literal_error":
        return f'{path}: expected "en" or "nl"'
    return f"{path}: {error['msg']}"


def _toml_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + part
    return path or "(file)"


def _suggestion(loc: tuple[int | str, ...]) -> str:
    key = str(loc[-1])
    # An unknown key inside `approvals` is compared with add/remove; elsewhere with the
    # section keys (at the top level, with defaults/communities).
    if len(loc) >= 2 and loc[-2] == "approvals":
        known: Iterable[str] = APPROVAL_KEYS
    elif len(loc) == 1:
        known = ("defaults", "communities")
    else:
        known = SECTION_KEYS
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


# Resolution and the checks that need it -------------------------------------------------


@dataclass(frozen=True)
class _Picked:
    value: Any
    origin: str  # "communities.<id>", "defaults" or an environment variable; "" for unset


def _pick(
    key: str, section: PolicySection, defaults: PolicySection, own: str, fallback: Any = None
) -> _Picked:
    """A key's value: the community's, else [defaults]', else the environment's."""
    if "." in key:  # approvals.add / approvals.remove
        table, sub = key.split(".")
        for origin, where in ((own, section), ("defaults", defaults)):
            counts = getattr(where, table)
            if counts is not None and getattr(counts, sub) is not None:
                return _Picked(getattr(counts, sub), origin)
    else:
        for origin, where in ((own, section), ("defaults", defaults)):
            if getattr(where, key) is not None:
                return _Picked(getattr(where, key), origin)
    if fallback is None:
        return _Picked(None, "")
    return _Picked(fallback, ENVIRONMENT_ORIGINS.get(key, "environment"))


def resolve(
    community_id: str, section: PolicySection, defaults: PolicySection, base: PolicyBase
) -> CommunityPolicy:
    own = f"communities.{community_id}"

    def pick(key: str, fallback: Any = None) -> _Picked:
        return _pick(key, section, defaults, own, fallback)

    picked = {
        "channel": pick("channel", base.channel or None),
        "requesters": pick("requesters"),
        "approvers": pick("approvers"),
        "support": pick("support"),
        "approvals.add": pick("approvals.add", base.approvals_add),
        "approvals.remove": pick("approvals.remove", base.approvals_remove),
        "max_credit_eur": pick("max_credit_eur", base.max_credit),
        "auto_approve_add_up_to_eur": pick("auto_approve_add_up_to_eur"),
        "escalate_after_hours": pick("escalate_after_hours"),
        "escalate_to": pick("escalate_to"),
        "escalate_channel": pick("escalate_channel"),
        "expiry_hours": pick("expiry_hours", base.expiry_hours),
        "reminder_hours": pick("reminder_hours", base.reminder_hours),
        "language": pick("language"),
    }
    value = {key: item.value for key, item in picked.items()}
    return CommunityPolicy(
        community_id=community_id,
        channel=value["channel"] or "",
        requesters=tuple(value["requesters"] or ()),
        approvers=tuple(value["approvers"] or ()),
        support=tuple(value["support"] or ()),
        approvals_add=value["approvals.add"],
        approvals_remove=value["approvals.remove"],
        max_credit=value["max_credit_eur"],
        auto_approve_add_up_to=value["auto_approve_add_up_to_eur"],
        escalate_after_hours=value["escalate_after_hours"],
        escalate_to=tuple(value["escalate_to"] or ()),
        escalate_channel=value["escalate_channel"] or "",
        expiry_hours=float(value["expiry_hours"]),
        reminder_hours=float(value["reminder_hours"]),
        language=value["language"] or "en",
        origins={key: item.origin for key, item in picked.items() if item.origin},
    )


def _cross_checks(
    document: PolicyDocument, base: PolicyBase, invalid: set[str], *, require_channel: bool
) -> list[str]:
    """Problems no single key shows: checked on each community's resolved values, and
    named at the key that sets the value at fault. A key that already has a problem of
    its own (in `invalid`) takes no part, so one mistake is reported once."""
    problems: list[str] = []
    if not document.communities and "communities" not in invalid:
        problems.append(
            "communities: no community named; add a [communities.<id>] table for each "
            "community the bot manages"
        )
    for community_id, section in document.communities.items():
        own = f"communities.{community_id}"
        if not COMMUNITY_ID.match(community_id):
            problems.append(f"{own}: {community_id!r} is not a community ID")
            continue

        def broken(key: str, community: str = own) -> bool:
            return f"{community}.{key}" in invalid or f"defaults.{key}" in invalid

        policy = resolve(community_id, section, document.defaults, base)

        def at(key: str, policy: CommunityPolicy = policy) -> str:
            return _path(policy, key)

        if (
            policy.escalate_after_hours is not None
            and not policy.escalate_to
            and not broken("escalate_to")
        ):
            problems.append(
                f"{at('escalate_after_hours')}: an escalation needs escalate_to "
                f"(who is asked when a request in {community_id} stays undecided)"
            )
        if (
            policy.escalate_after_hours is not None
            and policy.escalate_after_hours >= policy.expiry_hours
            and not broken("expiry_hours")
        ):
            problems.append(
                f"{at('escalate_after_hours')}: must be less than expiry_hours "
                f"({policy.expiry_hours:g}) in {community_id}: the request would expire first"
            )
        if policy.reminder_hours >= policy.expiry_hours and not (
            broken("reminder_hours") or broken("expiry_hours")
        ):
            # Named where the file sets the later of the two (the environment's pair is
            # checked with the settings).
            key = "reminder_hours" if _in_file(policy, "reminder_hours") else "expiry_hours"
            problems.append(
                f"{at(key)}: reminder_hours ({policy.reminder_hours:g}) must be less than "
                f"expiry_hours ({policy.expiry_hours:g}) in {community_id}"
            )
        if (
            policy.auto_approve_add_up_to is not None
            and policy.auto_approve_add_up_to > policy.max_credit
            and not broken("max_credit_eur")
        ):
            problems.append(
                f"{at('auto_approve_add_up_to_eur')}: more than max_credit_eur "
                f"({policy.max_credit}) in {community_id}"
            )
        if policy.max_credit == 0 and not broken("max_credit_eur"):
            problems.append(f"{at('max_credit_eur')}: must be more than 0.00")
        if require_channel and not policy.channel and not broken("channel"):
            problems.append(
                f"{own}.channel: required (set it here or in [defaults]; APPROVALS_CHANNEL "
                "is not set either)"
            )
    return problems


def _in_file(policy: CommunityPolicy, key: str) -> bool:
    return policy.origins.get(key, "").startswith(("communities.", "defaults"))


def _path(policy: CommunityPolicy, key: str) -> str:
    """Where a resolved value is set: its TOML path, or the environment variable."""
    origin = policy.origins.get(key, "")
    if _in_file(policy, key):
        return f"{origin}.{key}"
    return origin or f"communities.{policy.community_id}.{key}"

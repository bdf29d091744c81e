"""The people in the console's Slack workspace, and the roles they hold.

With no ROLES_* configured the console brings a small team, one person per role plus
erin (a manager through the S0MANAGERS user group, as roles are granted in real
workspaces) and frank (no role, to see refusals). With ROLES_* set, the IDs found there
are the users, so a configuration can be tried out before it meets Slack.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.runtime.settings import Settings
from bot.slack_standin import StandInUser

MANAGERS_GROUP = "S0MANAGERS"
POLICY_GROUP = "S0MANAGERSBE"  # examples/policy.toml's approvers of cc-acme-be

_TEAM = [  # (id, name, real name)
    ("U0ALICE", "alice", "Alice Jansen"),
    ("U0BOB", "bob", "Bob de Vries"),
    ("U0CAROL", "carol", "Carol Bakker"),
    ("U0DAVE", "dave", "Dave Visser"),
    ("U0ERIN", "erin", "Erin Smit"),
    ("U0FRANK", "frank", "Frank Mulder"),
]
_DEMO_ROLES = {
    "roles_hr": ("U0ALICE",),
    "roles_manager": ("U0BOB", MANAGERS_GROUP),
    "roles_support": ("U0CAROL",),
    "roles_admin": ("U0DAVE",),
}
_ROLE_FIELDS = tuple(_DEMO_ROLES)


@dataclass
class Workspace:
    """Users and user groups for the stand-in, and the settings that grant their roles."""

    settings: Settings
    users: list[StandInUser]
    usergroups: dict[str, list[str]] = field(default_factory=dict)


def workspace_for(settings: Settings) -> Workspace:
    if any(getattr(settings, name) for name in _ROLE_FIELDS):
        return _configured_workspace(settings)
    users = [
        StandInUser(id=uid, name=name, real_name=real, email=f"{name}@acme.example")
        for uid, name, real in _TEAM
    ]
    if settings.policy_file:
        # POLICY_FILE grants the roles per community (examples/policy.toml names this team):
        # only dave is admin everywhere; grace joins, and frank is in the Belgian managers'
        # group.
        users.append(StandInUser(id="U0GRACE", name="grace", real_name="Grace Peeters",
                                 email="grace@acme.example"))  # fmt: skip
        groups = {MANAGERS_GROUP: ["U0ERIN"], POLICY_GROUP: ["U0FRANK"]}
        return Workspace(settings.model_copy(update={"roles_admin": ("U0DAVE",)}), users, groups)
    return Workspace(settings.model_copy(update=_DEMO_ROLES), users, {MANAGERS_GROUP: ["U0ERIN"]})


def _configured_workspace(settings: Settings) -> Workspace:
    granted = [item for name in _ROLE_FIELDS for item in getattr(settings, name)]
    user_ids = list(dict.fromkeys(item for item in granted if item[0] in "UW"))
    # Groups exist but are empty: their members live in the real workspace, not here.
    groups: dict[str, list[str]] = {item: [] for item in granted if item[0] == "S"}
    users = [
        StandInUser(id=uid, name=uid.lower(), email=f"{uid.lower()}@acme.example")
        for uid in user_ids
    ]
    return Workspace(settings, users, groups)

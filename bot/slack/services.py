"""What the Slack listeners share: the domain's services and the look-ups they use.

Built once by the runtime (bot.runtime.bootstrap) and handed to every listener through
Bolt's context; the Slack layer never reads the settings itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.communities import CommunitiesClient
from bot.domain.approvals import RequestService
from bot.domain.policy import Policy
from bot.domain.ports import AuditLog, RequestStore
from bot.domain.roles import RoleDirectory
from bot.slack.import_services import ImportServices
from bot.slack.notifier import SlackNotifier
from bot.slack.users import UserDirectory


@dataclass
class Services:
    store: RequestStore
    roles: RoleDirectory
    requests: RequestService
    notifier: SlackNotifier
    users: UserDirectory
    api: CommunitiesClient
    policy: Policy
    audit_log: AuditLog
    environment: str  # SANDBOX, ACCEPTANCE or PRODUCTION: the badge shown outside production
    imports: ImportServices | None = None  # /community import (bot.slack.import_services)

    def __deepcopy__(self, memo: dict[int, object]) -> Services:
        # Bolt deep-copies the request context for lazy listeners; the services are shared,
        # thread-safe and must stay one instance (connection pools, caches).
        return self

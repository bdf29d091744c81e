"""Every Lua script the bot runs, with the keys it touches for sample IDs: the KEYS it
declares (built by the same functions the stores call) and the keys its Lua composes
itself (a request hash from an ID it reads, an address claim). On a Redis Cluster all of
them must hash to one slot, or the script fails with CROSSSLOT (or touches a key another
node holds); tests/unit/test_slots.py checks this list, and that it names every
`register_script` in bot/.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.bulk import row_id
from bot.storage import imports, keys, requests, work_queue

REQUEST = "r-20260101-abcdef"
IMPORT = "i-20260101-abcdef"
ROW = row_id(IMPORT, 7)
COMMUNITY = "acme-employees"
MAILBOX = "jane.doe@example.com"
USER = "U0ALICE"
CONSUMER = "worker-1"


@dataclass(frozen=True)
class ScriptKeys:
    name: str
    declared: list[str]
    composed: list[str] = field(default_factory=list)  # keys the Lua builds from names


def all_scripts() -> list[ScriptKeys]:
    other_request = keys.request("r-20251231-012345")  # the holder of an address claim
    claim = keys.open_request(COMMUNITY, MAILBOX)
    row_keys = [keys.request(ROW), claim, keys.AUDIT_STREAM]
    token = keys.TOKEN_PREFIX + "0123abcd"
    return [
        # bot.storage.requests
        ScriptKeys(
            "requests.create",
            requests.create_keys(REQUEST, COMMUNITY, MAILBOX, USER),
            [other_request],
        ),
        ScriptKeys("requests.transition", requests.request_keys(REQUEST), [claim]),
        ScriptKeys("requests.approve", requests.request_keys(REQUEST), [claim]),
        ScriptKeys("requests.park", requests.request_keys(REQUEST), [claim]),
        ScriptKeys("requests.release_due", requests.RELEASE_DUE_KEYS, [keys.request(REQUEST)]),
        # bot.storage.work_queue
        ScriptKeys("work_queue.take_lease", work_queue.lease_keys(REQUEST)),
        ScriptKeys("work_queue.release", work_queue.lease_keys(REQUEST)),
        ScriptKeys("work_queue.keep", work_queue.keep_keys(REQUEST)),
        # bot.storage.imports
        ScriptKeys("imports.file", imports.file_keys(IMPORT), [*row_keys, other_request]),
        ScriptKeys("imports.approve", imports.approve_keys(IMPORT), row_keys),
        ScriptKeys("imports.close", imports.close_keys(IMPORT), row_keys),
        ScriptKeys("imports.stop", imports.stop_keys(IMPORT), row_keys),
        ScriptKeys("imports.start_row", imports.start_row_keys(ROW, IMPORT)),
        ScriptKeys("imports.finish_row", imports.finish_row_keys(ROW, IMPORT), row_keys),
        ScriptKeys("imports.acquire", imports.ACQUIRE_KEYS),
        ScriptKeys("imports.pause", imports.PAUSE_KEYS),
        ScriptKeys("imports.keep", imports.KEEP_KEYS, [keys.import_lease(ROW)]),
        # bot.storage.escalations, delegations, steps: one key each
        ScriptKeys("escalations.claim", [keys.request(REQUEST)]),
        ScriptKeys("delegations.delete_if_same", [keys.DELEGATIONS]),
        ScriptKeys("steps.create", [keys.step("Fx0123ABCD")]),
        # bot.communities.tokens: one key each (the token, its renewal lock)
        ScriptKeys("tokens.release_lock", [token + ":lock"]),
        ScriptKeys("tokens.drop_if_same", [token]),
    ]

"""Block Kit helpers shared by the stand-in and the driver.

- `normalise_blocks` gives every block and interactive element an ID, as Slack does when it
  stores a message or a view, so the driver can always address them.
- `block_problems` applies Slack's documented size limits, so text that is too long fails here
  the way it would fail in Slack (`invalid_blocks`) instead of passing silently.
- `find_button` and `build_state_values` let the driver act like a person in the Slack client.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from typing import Any

Block = dict[str, Any]

# Elements that keep a value in `view.state` when a person fills them in.
TEXT_INPUTS = {"plain_text_input", "email_text_input", "number_input", "url_text_input"}
SINGLE_SELECTS = {"static_select", "radio_buttons", "external_select"}
MULTI_SELECTS = {"multi_static_select", "checkboxes", "multi_external_select"}
SIMPLE_PICKERS = {
    "users_select": ("selected_user", "initial_user"),
    "multi_users_select": ("selected_users", "initial_users"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "channels_select": ("selected_channel", "initial_channel"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
}
STATEFUL = TEXT_INPUTS | SINGLE_SELECTS | MULTI_SELECTS | set(SIMPLE_PICKERS) | {"file_input"}

# Slack's Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks).
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
_TEXT_LIMITS = {"section": 3000, "header": 150, "input": 2000}  # block text / label
_FIELD_LIMIT = 2000
_BUTTON_TEXT_LIMIT = 75
_BUTTON_VALUE_LIMIT = 2000
_OPTION_TEXT_LIMIT = 75
_OPTION_VALUE_LIMIT = 150
_ID_LIMIT = 255
_CONTEXT_ELEMENTS = 10
_ACTIONS_ELEMENTS = 25
_SECTION_FIELDS = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def text_of(obj: Any) -> str:
    """The visible text of a text object (`{"type": "plain_text", "text": ...}`) or a string."""
    if isinstance(obj, Mapping):
        return str(obj.get("text", ""))
    return "" if obj is None else str(obj)


def normalise_blocks(blocks: Any) -> list[Block]:
    """A copy of `blocks` where every block has a block_id and every element an action_id.

    Slack fills these in with random strings; ours are derived from the position so that
    transcripts stay stable from run to run.
    """
    if not isinstance(blocks, list):
        return []
    result: list[Block] = copy.deepcopy([b for b in blocks if isinstance(b, dict)])
    for index, block in enumerate(result):
        block.setdefault("block_id", f"b{index}")
        for position, element in enumerate(_elements_of(block)):
            element.setdefault("action_id", f"{block['block_id']}.a{position}")
    return result


def _elements_of(block: Block) -> list[dict[str, Any]]:
    """The interactive elements of one block (accessory, actions elements, input element)."""
    kind = block.get("type")
    if kind == "actions":
        return [e for e in block.get("elements", []) if isinstance(e, dict)]
    if kind == "section" and isinstance(block.get("accessory"), dict):
        return [block["accessory"]]
    if kind == "input" and isinstance(block.get("element"), dict):
        return [block["element"]]
    return []


def iter_elements(blocks: list[Block]) -> Iterator[tuple[Block, dict[str, Any]]]:
    """Every (block, interactive element) pair, in display order."""
    for block in blocks:
        for element in _elements_of(block):
            yield block, element


# ---------------------------------------------------------------------------------------------
# Limits


def block_problems(blocks: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS) -> list[str]:
    """Slack-style problem descriptions for blocks that Slack would refuse; empty when fine."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"no more than {max_blocks} items allowed [json-pointer:/blocks]")
    for index, block in enumerate(blocks):
        where = f"/blocks/{index}"
        if not isinstance(block, dict) or "type" not in block:
            problems.append(f"missing required field: type [json-pointer:{where}]")
            continue
        problems.extend(_problems_in_block(block, where))
    return problems


def _too_long(value: Any, limit: int, where: str) -> list[str]:
    if len(text_of(value)) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{where}]"]
    return []


def _problems_in_block(block: Block, where: str) -> list[str]:
    problems = _too_long(block.get("block_id", ""), _ID_LIMIT, f"{where}/block_id")
    kind = block["type"]
    if kind in ("section", "header"):
        problems += _too_long(block.get("text"), _TEXT_LIMITS[kind], f"{where}/text/text")
    if kind == "input":
        problems += _too_long(block.get("label"), _TEXT_LIMITS["input"], f"{where}/label/text")
    fields = block.get("fields") or []
    if len(fields) > _SECTION_FIELDS:
        where_fields = f"{where}/fields"
        problems.append(
            f"no more than {_SECTION_FIELDS} items allowed [json-pointer:{where_fields}]"
        )
    for i, field in enumerate(fields):
        problems += _too_long(field, _FIELD_LIMIT, f"{where}/fields/{i}/text")
    if kind == "context" and len(block.get("elements", [])) > _CONTEXT_ELEMENTS:
        problems.append(f"no more than {_CONTEXT_ELEMENTS} items allowed [json-pointer:{where}]")
    if kind == "actions" and len(block.get("elements", [])) > _ACTIONS_ELEMENTS:
        problems.append(f"no more than {_ACTIONS_ELEMENTS} items allowed [json-pointer:{where}]")
    for i, element in enumerate(_elements_of(block)):
        problems += _problems_in_element(element, f"{where}/elements/{i}")
    return problems


def _problems_in_element(element: dict[str, Any], where: str) -> list[str]:
    problems = _too_long(element.get("action_id", ""), _ID_LIMIT, f"{where}/action_id")
    if element.get("type") == "button":
        problems += _too_long(element.get("text"), _BUTTON_TEXT_LIMIT, f"{where}/text/text")
        problems += _too_long(element.get("value", ""), _BUTTON_VALUE_LIMIT, f"{where}/value")
    for i, option in enumerate(all_options(element)):
        problems += _too_long(option.get("text"), _OPTION_TEXT_LIMIT, f"{where}/options/{i}/text")
        problems += _too_long(option.get("value", ""), _OPTION_VALUE_LIMIT, f"{where}/options/{i}")
    return problems


# ---------------------------------------------------------------------------------------------
# Finding things a person would click or fill in


def find_button(
    blocks: list[Block], label: str, *, value: str | None = None, block_id: str | None = None
) -> tuple[Block, dict[str, Any]]:
    """The button whose visible text (or action_id) is `label`; LookupError when absent or
    ambiguous, because clicking "the wrong Approve" would make a test pass for the wrong reason.
    """
    buttons = [(b, e) for b, e in iter_elements(blocks) if e.get("type") == "button"]
    if value is not None:
        buttons = [(b, e) for b, e in buttons if e.get("value") == value]
    if block_id is not None:
        buttons = [(b, e) for b, e in buttons if b.get("block_id") == block_id]
    matches = [(b, e) for b, e in buttons if text_of(e.get("text")) == label]
    matches = matches or [(b, e) for b, e in buttons if e.get("action_id") == label]
    wanted = label.casefold()
    matches = matches or [(b, e) for b, e in buttons if text_of(e.get("text")).casefold() == wanted]
    if len(matches) == 1:
        return matches[0]
    seen = ", ".join(f"{text_of(e.get('text'))!r} ({e.get('action_id')})" for _, e in buttons)
    if not matches:
        raise LookupError(f"no button {label!r}; buttons here: {seen or 'none'}")
    raise LookupError(f"{len(matches)} buttons match {label!r}; pass value= or block_id=: {seen}")


def all_options(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Options of a select/radio/checkbox element, flattening option groups."""
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return [o for o in options if isinstance(o, dict)]


def find_option(element: Mapping[str, Any], wanted: Any) -> dict[str, Any]:
    """The option whose value or visible text is `wanted`, as Slack would put it in state."""
    if isinstance(wanted, Mapping):
        return dict(wanted)
    options = all_options(element)
    for match in (
        lambda o: o.get("value") == str(wanted),
        lambda o: text_of(o.get("text")) == str(wanted),
        lambda o: text_of(o.get("text")).casefold() == str(wanted).casefold(),
    ):
        found = [o for o in options if match(o)]
        if found:
            return {"text": found[0].get("text"), "value": found[0].get("value")}
    if element.get("type") in ("external_select", "multi_external_select"):
        # Options of external selects come from the app at run time; take the value as given.
        return {"text": {"type": "plain_text", "text": str(wanted)}, "value": str(wanted)}
    choices = ", ".join(repr(o.get("value")) for o in options)
    raise LookupError(f"no option {wanted!r} in {element.get('action_id')}; options: {choices}")


def build_state_values(
    blocks: list[Block],
    values: Mapping[str, Any],
    *,
    upload: Any = None,
) -> dict[str, dict[str, Any]]:
    """`view.state.values` as Slack builds it: `{block_id: {action_id: {type, ...}}}`.

    `values` is keyed by action_id or block_id. Input blocks that are not in `values` keep
    their initial value (as they would on screen) or are empty. `upload(user_value)` turns a
    file_input value into Slack file objects.
    """
    unused = set(values)
    state: dict[str, dict[str, Any]] = {}
    for block, element in iter_elements(blocks):
        if element.get("type") not in STATEFUL:
            continue
        block_id, action_id = block["block_id"], element["action_id"]
        key = action_id if action_id in values else block_id if block_id in values else None
        if key is None and block.get("type") != "input":
            continue  # Slack only reports untouched accessories/actions when they have input.
        if key is not None:
            unused.discard(key)
        given = values[key] if key is not None else _initial(element)
        state.setdefault(block_id, {})[action_id] = _element_state(element, given, upload)
    if unused:
        raise LookupError(f"no input for {sorted(unused)}; inputs here: {_input_names(blocks)}")
    return state


def _input_names(blocks: list[Block]) -> list[str]:
    return [e["action_id"] for _, e in iter_elements(blocks) if e.get("type") in STATEFUL]


def _initial(element: Mapping[str, Any]) -> Any:
    """What the element shows before anyone touches it."""
    kind = element.get("type")
    if kind in TEXT_INPUTS:
        return element.get("initial_value")
    if kind in SINGLE_SELECTS:
        return element.get("initial_option")
    if kind in MULTI_SELECTS:
        return element.get("initial_options") or []
    if kind in SIMPLE_PICKERS:
        return element.get(SIMPLE_PICKERS[kind][1])
    return None


def _element_state(element: Mapping[str, Any], given: Any, upload: Any) -> dict[str, Any]:
    kind = str(element.get("type"))
    if kind in TEXT_INPUTS:
        return {"type": kind, "value": None if given in (None, "") else str(given)}
    if kind in SINGLE_SELECTS:
        option = None if given in (None, "") else find_option(element, given)
        return {"type": kind, "selected_option": option}
    if kind in MULTI_SELECTS:
        chosen = given if isinstance(given, list | tuple) else [given]
        options = [find_option(element, g) for g in chosen if g not in (None, "")]
        return {"type": kind, "selected_options": options}
    if kind in SIMPLE_PICKERS:
        return {"type": kind, SIMPLE_PICKERS[kind][0]: given}
    files = [] if given in (None, "") or upload is None else upload(given)
    return {"type": kind, "files": files}


def client_side_problems(blocks: list[Block], state: Mapping[str, Any]) -> dict[str, str]:
    """What the Slack client itself refuses before sending a submission: empty required
    inputs, malformed e-mails and numbers, lengths. Keyed by block_id like `errors`.
    """
    problems: dict[str, str] = {}
    for block in blocks:
        if block.get("type") != "input" or not isinstance(block.get("element"), dict):
            continue
        element = block["element"]
        entry = state.get(block["block_id"], {}).get(element["action_id"], {})
        problem = _client_problem(block, element, entry)
        if problem:
            problems[block["block_id"]] = problem
    return problems


def _client_problem(block: Block, element: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
    filled = [v for k, v in entry.items() if k != "type" and v not in (None, [], "")]
    if not filled:
        return "" if block.get("optional") else "Please complete this required field."
    value = entry.get("value")
    if value is None:
        return ""
    kind = element.get("type")
    if kind == "email_text_input" and not _EMAIL.match(value):
        return "Enter an email address in the right format."
    if kind == "number_input":
        return _number_problem(element, value)
    if len(value) > int(element.get("max_length", 3000)):
        return f"Use {element.get('max_length', 3000)} characters or fewer."
    if len(value) < int(element.get("min_length", 0)):
        return f"Use at least {element['min_length']} characters."
    return ""


def _number_problem(element: Mapping[str, Any], value: str) -> str:
    pattern = r"^-?\d+(\.\d+)?$" if element.get("is_decimal_allowed") else r"^-?\d+$"
    if not re.match(pattern, value):
        return "Enter a number." if element.get("is_decimal_allowed") else "Enter a whole number."
    if "min_value" in element and float(value) < float(element["min_value"]):
        return f"Enter a number of at least {element['min_value']}."
    if "max_value" in element and float(value) > float(element["max_value"]):
        return f"Enter a number no greater than {element['max_value']}."
    return ""

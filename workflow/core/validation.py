"""Checks of a definition's raw YAML data: shape, names and graph.

Every problem names the file and line it comes from. The checks follow
python-statemachine's: one initial state, nothing unreachable, no dead ends,
terminal states have no exits, and no trigger ambiguous from one source.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from workflow.core.definition import FIELD_TYPES
from workflow.core.messages import message
from workflow.core.roles import ROLES
from workflow.core.yamlsource import Path_, SourceMap

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
PREFIX_PATTERN = re.compile(r"^[A-Z]{1,8}$")
TOP_LEVEL_KEYS = {
    "name",
    "label",
    "reference_prefix",
    "initial",
    "creator_role",
    "requires_category",
    "fields",
    "states",
    "transitions",
    "deadlines",
    "assign_creator",
    "assigned_by",
    "triggers",
}
STATE_KEYS = {"label", "role", "terminal", "editable", "deadline"}
TRANSITION_KEYS = {
    "trigger",
    "source",
    "dest",
    "role",
    "guards",
    "starts_revision",
    "late_after",
    "fires_at",
    "optional_fields",
}
FIELD_KEYS = {"type", "label", "choices", "required", "help"}
TRIGGER_KEYS = {"label"}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str = "zh") -> str:
        """One line, whatever the file held: line breaks and other control characters of a name quoted
        back from it are shown escaped (``\\r``, ``\\x00``), never printed."""
        return f"{self.file}:{self.line}: {_visible(message(self.key, lang, **self.params))}"


def _visible(text: str) -> str:
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii") for ch in text)


class _Collector:
    def __init__(self, source_map: SourceMap, *, stored: bool = False) -> None:
        self.source_map = source_map
        self.stored = stored
        self.problems: list[Problem] = []

    def add(self, path: Path_, message: str, /, **params: Any) -> None:
        self.problems.append(Problem(self.source_map.file, self.source_map.line(path), message, params))


def _is_label(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"zh", "en"}
        and all(isinstance(text, str) and text.strip() for text in value.values())
    )


def _is_role(value: Any) -> bool:
    return isinstance(value, str) and value in ROLES


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def validate_definition_data(data: Any, source_map: SourceMap, *, stored: bool = False) -> list[Problem]:
    """All problems of one definition document; an empty list means it is valid.

    ``stored`` is a version read back from a database: one written before triggers and
    choices carried their labels may lack them (every other rule holds).
    """
    out = _Collector(source_map, stored=stored)
    for line, key in source_map.duplicate_keys:
        out.problems.append(Problem(source_map.file, line, "definition.duplicate_key", {"key": key}))
    if not isinstance(data, dict):
        out.add((), "definition.not_mapping")
        return out.problems
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            out.add((key,), "definition.unknown_key", key=key, allowed=", ".join(sorted(TOP_LEVEL_KEYS)))
    for key in ("name", "label", "reference_prefix", "initial", "creator_role", "states", "transitions"):
        if key not in data:
            out.add((), "definition.missing_key", key=key)
    name = data.get("name")
    if "name" in data and not (isinstance(name, str) and NAME_PATTERN.match(name)):
        out.add(("name",), "definition.bad_name", value=name)
    if "label" in data and not _is_label(data["label"]):
        out.add(("label",), "definition.bad_label")
    prefix = data.get("reference_prefix")
    if "reference_prefix" in data and not (isinstance(prefix, str) and PREFIX_PATTERN.match(prefix)):
        out.add(("reference_prefix",), "definition.bad_prefix", value=prefix)
    for flag in ("requires_category", "assign_creator"):
        if flag in data and not isinstance(data[flag], bool):
            out.add((flag,), "definition.not_bool", key=flag)
    if "creator_role" in data and not _is_role(data["creator_role"]):
        out.add(("creator_role",), "definition.unknown_role", role=data["creator_role"])
    _check_assigned_by(data, out)

    field_types = _check_fields(data.get("fields", {}), out)
    # A key present but empty (None) is a problem; a missing key was reported above.
    states = _check_states(data["states"], out) if "states" in data else None
    transitions = _check_transitions(data["transitions"], states, field_types, out) if "transitions" in data else None
    if states is not None and transitions is not None:
        _check_graph(data, states, transitions, out)
        triggers = {t["trigger"] for t in transitions if isinstance(t.get("trigger"), str)}
        _check_deadlines(data, states, triggers, field_types, out)
        _check_trigger_labels(data, transitions, out)
    return out.problems


def _check_assigned_by(data: dict[str, Any], out: _Collector) -> None:
    """``assigned_by``: the roles that may assign a role on an item, a non-empty list of known roles."""
    if "assigned_by" not in data:
        return
    roles = data["assigned_by"]
    if not isinstance(roles, list) or not roles:
        out.add(("assigned_by",), "definition.not_list", key="assigned_by")
        return
    for index, role in enumerate(roles):
        if not _is_role(role):
            out.add(("assigned_by", index), "definition.unknown_role", role=role)


def _check_trigger_labels(data: dict[str, Any], transitions: list[dict[str, Any]], out: _Collector) -> None:
    """``triggers:`` gives every trigger of the transitions its label (a misspelt name there leaves
    the real trigger unlabelled, which is reported)."""
    declared = data.get("triggers")
    if declared is None:
        declared = {}
    elif not isinstance(declared, dict):
        out.add(("triggers",), "definition.not_mapping_key", key="triggers")
        return
    for name, spec in declared.items():
        path: Path_ = ("triggers", name)
        if not isinstance(spec, dict):
            out.add(path, "definition.not_mapping_key", key=f"triggers.{name}")
            continue
        for key in spec:
            if key not in TRIGGER_KEYS:
                out.add((*path, key), "definition.unknown_key", key=key, allowed=", ".join(sorted(TRIGGER_KEYS)))
        if not _is_label(spec.get("label")):
            out.add((*path, "label"), "definition.bad_label")
    if out.stored:
        return
    for index, spec in enumerate(transitions):
        trigger = spec.get("trigger")
        if isinstance(trigger, str) and NAME_PATTERN.match(trigger) and trigger not in declared:
            out.add(("transitions", index, "trigger"), "definition.trigger_label_missing", trigger=trigger)
            declared = {**declared, trigger: None}  # one problem per trigger, at its first transition


DEADLINE_KEYS = {
    "label", "working_days", "calendar_days", "starts", "met_on", "pause_in", "suspend_in", "restart_on",
    "extension", "reminders",
}  # fmt: skip
STATE_DEADLINE_KEYS = {"working_days", "calendar_days", "reminders", "label"}
REMINDER_KEYS = {"before", "on_due_day", "notify", "escalate_to", "repeat_escalation"}


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_deadlines(
    data: dict[str, Any],
    states: dict[str, dict[str, Any]],
    triggers: set[str],
    field_types: dict[str, str],
    out: _Collector,
) -> None:
    """Deadline policies: per item under ``deadlines:``, per state under the state's ``deadline:``."""
    policies = data.get("deadlines", {})
    if not isinstance(policies, dict):
        out.add(("deadlines",), "definition.not_mapping_key", key="deadlines")
        policies = {}
    for name, spec in policies.items():
        path: Path_ = ("deadlines", name)
        if not NAME_PATTERN.match(str(name)):
            out.add(path, "definition.bad_name", value=name)
        if not isinstance(spec, dict):
            out.add(path, "definition.not_mapping_key", key=f"deadlines.{name}")
            continue
        _check_period(spec, path, DEADLINE_KEYS, out)
        if not _is_label(spec.get("label")):
            out.add((*path, "label"), "definition.bad_label")
        starts = spec.get("starts")
        if starts is not None:
            if not (isinstance(starts, dict) and len(starts) == 1 and set(starts) <= {"field", "state"}):
                out.add((*path, "starts"), "deadline.bad_starts")
            elif "field" in starts and field_types.get(starts["field"]) != "date":
                out.add((*path, "starts"), "definition.late_after_field", field=starts["field"])
            elif "state" in starts and starts["state"] not in states:
                out.add((*path, "starts"), "definition.unknown_state", state=starts["state"])
        for key in ("met_on", "pause_in", "suspend_in"):
            for state in _as_list(spec.get(key, [])):
                if not isinstance(state, str) or state not in states:
                    out.add((*path, key), "definition.unknown_state", state=state)
        for trigger in _as_list(spec.get("restart_on", [])):
            if trigger not in triggers:
                out.add((*path, "restart_on"), "definition.unknown_trigger", trigger=trigger)
        extension = spec.get("extension")
        if extension is not None:
            if not (
                isinstance(extension, dict)
                and set(extension) == {"trigger", "working_days"}
                and _positive_int(extension["working_days"])
            ):
                out.add((*path, "extension"), "deadline.bad_extension")
            elif extension["trigger"] not in triggers:
                out.add((*path, "extension"), "definition.unknown_trigger", trigger=extension["trigger"])
    for state, spec in states.items():
        deadline = spec.get("deadline") if isinstance(spec, dict) else None
        if deadline is None:
            continue
        path = ("states", state, "deadline")
        if not isinstance(deadline, dict):
            out.add(path, "definition.not_mapping_key", key=f"states.{state}.deadline")
            continue
        _check_period(deadline, path, STATE_DEADLINE_KEYS, out)
        if spec.get("terminal") is True:
            out.add(path, "deadline.on_terminal", state=state)


def _check_period(spec: dict[str, Any], path: Path_, allowed: set[str], out: _Collector) -> None:
    for key in spec:
        if key not in allowed:
            out.add((*path, key), "definition.unknown_key", key=key, allowed=", ".join(sorted(allowed)))
    lengths = [key for key in ("working_days", "calendar_days") if key in spec]
    if len(lengths) != 1 or not _positive_int(spec[lengths[0]]):
        out.add(path, "deadline.bad_length")
    reminders = spec.get("reminders")
    if reminders is None:
        return
    if not isinstance(reminders, dict):
        out.add((*path, "reminders"), "definition.not_mapping_key", key="reminders")
        return
    r_path = (*path, "reminders")
    for key in reminders:
        if key not in REMINDER_KEYS:
            out.add((*r_path, key), "definition.unknown_key", key=key, allowed=", ".join(sorted(REMINDER_KEYS)))
    before = reminders.get("before", [])
    if not isinstance(before, list) or not all(_positive_int(n) for n in before):
        out.add((*r_path, "before"), "deadline.bad_before")
    for key in ("on_due_day", "repeat_escalation"):
        if key in reminders and not isinstance(reminders[key], bool):
            out.add((*r_path, key), "definition.not_bool", key=key)
    for role in _as_list(reminders.get("notify", [])):
        if not _is_role(role):
            out.add((*r_path, "notify"), "definition.unknown_role", role=role)
    if "escalate_to" in reminders and not _is_role(reminders["escalate_to"]):
        out.add((*r_path, "escalate_to"), "definition.unknown_role", role=reminders["escalate_to"])


def _check_fields(fields: Any, out: _Collector) -> dict[str, str]:
    types: dict[str, str] = {}
    if not isinstance(fields, dict):
        out.add(("fields",), "definition.not_mapping_key", key="fields")
        return types
    for name, spec in fields.items():
        path: Path_ = ("fields", name)
        if not NAME_PATTERN.match(str(name)):
            out.add(path, "definition.bad_name", value=name)
        if not isinstance(spec, dict):
            out.add(path, "definition.not_mapping_key", key=f"fields.{name}")
            continue
        for key in spec:
            if key not in FIELD_KEYS:
                out.add((*path, key), "definition.unknown_key", key=key, allowed=", ".join(sorted(FIELD_KEYS)))
        kind = spec.get("type")
        if kind not in FIELD_TYPES:
            out.add((*path, "type"), "definition.bad_field_type", field=name, allowed=", ".join(FIELD_TYPES))
        else:
            types[str(name)] = kind
        if "label" not in spec or not _is_label(spec["label"]):
            out.add((*path, "label"), "definition.bad_label")
        choices = spec.get("choices")
        if kind == "choice":
            _check_choices(path, str(name), choices, out)
        if kind != "choice" and choices is not None:
            out.add((*path, "choices"), "definition.choices_not_choice", field=name)
        if "help" in spec and not _is_label(spec["help"]):
            out.add((*path, "help"), "definition.bad_label")
        if "required" in spec and not isinstance(spec["required"], bool):
            out.add((*path, "required"), "definition.not_bool", key="required")
    return types


def _check_choices(path: Path_, field: str, choices: Any, out: _Collector) -> None:
    """A choice field's values, each with its label: ``value: {zh: ..., en: ...}``."""
    if out.stored and isinstance(choices, list) and choices and all(isinstance(c, str) for c in choices):
        return  # a version stored before choices carried labels
    if not (isinstance(choices, dict) and choices):
        out.add((*path, "choices"), "definition.bad_choices", field=field)
        return
    for value, label in choices.items():
        if not NAME_PATTERN.match(str(value)):
            out.add((*path, "choices", value), "definition.bad_name", value=value)
        if not _is_label(label):
            out.add((*path, "choices", value), "definition.bad_choice_label", field=field, value=value)


def _check_states(states: Any, out: _Collector) -> dict[str, dict[str, Any]] | None:
    if not isinstance(states, dict) or not states:
        out.add(("states",), "definition.not_mapping_key", key="states")
        return None
    checked: dict[str, dict[str, Any]] = {}
    for name, spec in states.items():
        path: Path_ = ("states", name)
        if not NAME_PATTERN.match(str(name)):
            out.add(path, "definition.bad_name", value=name)
        if not isinstance(spec, dict):
            out.add(path, "definition.not_mapping_key", key=f"states.{name}")
            checked[str(name)] = {}
            continue
        for key in spec:
            if key not in STATE_KEYS:
                out.add((*path, key), "definition.unknown_key", key=key, allowed=", ".join(sorted(STATE_KEYS)))
        if not _is_label(spec.get("label")):
            out.add((*path, "label"), "definition.bad_label")
        for role in _as_list(spec.get("role", [])):
            if not _is_role(role):
                out.add((*path, "role"), "definition.unknown_role", role=role)
        for flag in ("terminal", "editable"):
            if flag in spec and not isinstance(spec[flag], bool):
                out.add((*path, flag), "definition.not_bool", key=flag)
        checked[str(name)] = spec
    return checked


def _check_transitions(
    transitions: Any,
    states: dict[str, dict[str, Any]] | None,
    field_types: dict[str, str],
    out: _Collector,
) -> list[dict[str, Any]] | None:
    from workflow.core.guards import GUARDS

    if not isinstance(transitions, list) or not transitions:
        out.add(("transitions",), "definition.not_list", key="transitions")
        return None
    known_triggers = {t["trigger"] for t in transitions if isinstance(t, dict) and isinstance(t.get("trigger"), str)}
    checked: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for index, spec in enumerate(transitions):
        path: Path_ = ("transitions", index)
        if not isinstance(spec, dict):
            out.add(path, "definition.not_mapping_key", key=f"transitions[{index}]")
            continue
        for key in spec:
            if key not in TRANSITION_KEYS:
                out.add((*path, key), "definition.unknown_key", key=key, allowed=", ".join(sorted(TRANSITION_KEYS)))
        for key in ("trigger", "source", "role"):
            if key not in spec:
                out.add(path, "definition.missing_key", key=key)
        if "dest" not in spec:
            out.add(path, "definition.missing_key", key="dest")
        trigger = spec.get("trigger")
        if "trigger" in spec and not (isinstance(trigger, str) and NAME_PATTERN.match(trigger)):
            out.add((*path, "trigger"), "definition.bad_name", value=trigger)
        sources = _as_list(spec.get("source", []))
        for source in sources:
            if not isinstance(source, str) or (states is not None and source not in states):
                out.add((*path, "source"), "definition.unknown_state", state=source)
            elif isinstance(trigger, str):
                if (trigger, source) in seen:
                    out.add(
                        (*path, "trigger"),
                        "definition.duplicate_trigger",
                        trigger=trigger,
                        state=source,
                        other=seen[(trigger, source)],
                    )
                else:
                    seen[(trigger, source)] = source_line(out, path)
        dest = spec.get("dest")
        if dest is not None and (not isinstance(dest, str) or (states is not None and dest not in states)):
            out.add((*path, "dest"), "definition.unknown_state", state=dest)
        if "role" in spec and not _is_role(spec["role"]):
            out.add((*path, "role"), "definition.unknown_role", role=spec["role"])
        if "starts_revision" in spec and not isinstance(spec["starts_revision"], bool):
            out.add((*path, "starts_revision"), "definition.not_bool", key="starts_revision")
        _check_late_after(spec, path, field_types, out)
        _check_fires_at(spec, path, field_types, out)
        _check_optional_fields(spec, path, field_types, out)
        guards = spec.get("guards", [])
        if not isinstance(guards, list):
            out.add((*path, "guards"), "definition.not_list", key="guards")
            guards = []
        for g_index, guard in enumerate(guards):
            g_path = (*path, "guards", g_index)
            name, params = _split_guard(guard)
            if name is None:
                out.add(g_path, "definition.bad_guard_shape")
                continue
            if name not in GUARDS:
                out.add(g_path, "definition.unknown_guard", guard=name, allowed=", ".join(sorted(GUARDS)))
                continue
            for key, problem_params in _validate_guard(name, params, field_types, known_triggers):
                out.add(g_path, key, guard=name, **problem_params)
        checked.append(spec)
    return checked


def source_line(out: _Collector, path: Path_) -> int:
    return out.source_map.line(path)


def _check_late_after(spec: dict[str, Any], path: Path_, field_types: dict[str, str], out: _Collector) -> None:
    late = spec.get("late_after")
    if late is None:
        return
    if not (
        isinstance(late, dict)
        and set(late) == {"from_field", "working_days"}
        and isinstance(late["working_days"], int)
        and not isinstance(late["working_days"], bool)
        and late["working_days"] > 0
        and isinstance(late["from_field"], str)
    ):
        out.add((*path, "late_after"), "definition.bad_late_after")
        return
    if field_types.get(late["from_field"]) != "date":
        out.add((*path, "late_after"), "definition.late_after_field", field=late["from_field"])


def _check_fires_at(spec: dict[str, Any], path: Path_, field_types: dict[str, str], out: _Collector) -> None:
    """A timed transition names a datetime field; the worker fires it, so no person's guard can apply."""
    if "fires_at" not in spec:
        return
    name = spec["fires_at"]
    if not isinstance(name, str) or field_types.get(name) != "datetime":
        out.add((*path, "fires_at"), "definition.fires_at_field", field=name)
    if spec.get("guards"):
        out.add((*path, "guards"), "definition.fires_at_guards")
    if spec.get("dest") is None:
        out.add((*path, "fires_at"), "definition.fires_at_internal")


def _check_optional_fields(spec: dict[str, Any], path: Path_, field_types: dict[str, str], out: _Collector) -> None:
    """Fields a person may give with the fire: declared ones, and not on a transition the worker fires."""
    if "optional_fields" not in spec:
        return
    names = spec["optional_fields"]
    if not isinstance(names, list):
        out.add((*path, "optional_fields"), "definition.not_list", key="optional_fields")
        return
    for index, name in enumerate(names):
        if not isinstance(name, str) or name not in field_types:
            out.add((*path, "optional_fields", index), "definition.optional_field_unknown", field=name)
    if "fires_at" in spec:
        out.add((*path, "optional_fields"), "definition.optional_fields_timed")


def _split_guard(guard: Any) -> tuple[str | None, Any]:
    if isinstance(guard, str):
        return guard, None
    if isinstance(guard, dict) and len(guard) == 1:
        ((name, params),) = guard.items()
        return str(name), params
    return None, None


def _validate_guard(
    name: str, params: Any, field_types: dict[str, str], known_triggers: set[Any]
) -> list[tuple[str, dict[str, Any]]]:
    """Check guard parameters against the guard and the names this definition declares."""
    from workflow.core.guards import GUARDS

    problems = GUARDS[name].validate(params)
    if problems:
        return problems
    if name == "requires_field":
        names = [params] if isinstance(params, str) else params
        problems += [("guard.unknown_field", {"field": n}) for n in names if n not in field_types]
    if name == "not_same_actor_as":
        problems += [
            ("definition.unknown_trigger", {"trigger": t})
            for t in params.get("triggers", [])
            if t not in known_triggers
        ]
    return problems


def _check_graph(
    data: dict[str, Any],
    states: dict[str, dict[str, Any]],
    transitions: list[dict[str, Any]],
    out: _Collector,
) -> None:
    initial = data.get("initial")
    if not isinstance(initial, str) or initial not in states:
        if "initial" in data:  # a missing key was reported already
            out.add(("initial",), "definition.unknown_state", state=initial)
        return
    exits: dict[str, set[str]] = {name: set() for name in states}
    any_exit: dict[str, bool] = {name: False for name in states}
    for spec in transitions:
        dest = spec.get("dest")
        for source in _as_list(spec.get("source", [])):
            if isinstance(source, str) and source in states:
                any_exit[source] = True
                if isinstance(dest, str) and dest in states and dest != source:
                    exits[source].add(dest)
    reached = {initial}
    queue = deque([initial])
    while queue:
        for dest in exits[queue.popleft()]:
            if dest not in reached:
                reached.add(dest)
                queue.append(dest)
    for name, spec in states.items():
        path: Path_ = ("states", name)
        terminal = spec.get("terminal") is True
        if name not in reached:
            out.add(path, "definition.unreachable", state=name)
        if terminal and any_exit[name]:
            out.add(path, "definition.terminal_has_exit", state=name)
        if not terminal and not exits[name]:
            out.add(path, "definition.dead_end", state=name)
    if states[initial].get("terminal") is True:
        out.add(("initial",), "definition.initial_terminal", state=initial)

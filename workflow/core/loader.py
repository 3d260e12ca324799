"""YAML files -> validated, frozen :class:`Definition` and :class:`Catalog`."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from workflow.core.definition import (
    Catalog,
    Category,
    DeadlinePolicy,
    DeadlineSpec,
    Definition,
    FieldSpec,
    GuardSpec,
    Label,
    LateMark,
    ReminderPolicy,
    State,
    Transition,
)
from workflow.core.errors import DefinitionError
from workflow.core.validation import Problem, validate_definition_data
from workflow.core.yamlsource import SourceMap, YamlSyntaxError, read_yaml

CATALOG_FILE = "catalog.yaml"
NOT_DEFINITIONS = {CATALOG_FILE, "calendar.yaml", "office.yaml"}


def definition_version(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def definition_files(directory: Path) -> list[Path]:
    """The definition files of a folder: every ``*.yaml`` but the catalogue, calendar and office settings."""
    return sorted(p for p in directory.glob("*.yaml") if p.name not in NOT_DEFINITIONS)


def _read(text: str, file: str) -> tuple[Any, SourceMap]:
    try:
        return read_yaml(text, file)
    except YamlSyntaxError as error:
        raise DefinitionError([Problem(file, error.line, "definition.bad_yaml", {"detail": error.message})]) from None


def check_definition_text(text: str, file: str) -> list[Problem]:
    """Every problem of a definition's source, without raising."""
    try:
        data, source_map = _read(text, file)
    except DefinitionError as error:
        return list(error.problems)
    return validate_definition_data(data, source_map)


def load_definition_text(text: str, file: str, *, stored: bool = False) -> Definition:
    """Validate and build a definition; raises :class:`DefinitionError` listing every problem.

    ``stored``: the text was read back from a database, where versions written before
    triggers and choices had labels lack them; those load with the names as labels.
    """
    data, source_map = _read(text, file)
    problems = validate_definition_data(data, source_map, stored=stored)
    if problems:
        raise DefinitionError(problems)
    return _build(data, text, file)


def with_labels_from(stored: Definition, current: Definition) -> Definition:
    """A stored version whose source predates trigger and choice labels, labelled as ``current`` names them.

    Only what the stored text lacks is taken; names the current version dropped stay unlabelled.
    """
    trigger_labels = {**current.trigger_labels, **stored.trigger_labels}
    fields = {}
    for name, spec in stored.fields.items():
        newer = current.fields.get(name)
        if spec.choices and not spec.choice_labels and newer is not None:
            labels = {value: newer.choice_labels[value] for value in spec.choices if value in newer.choice_labels}
            spec = replace(spec, choice_labels=MappingProxyType(labels))
        fields[name] = spec
    return replace(
        stored,
        trigger_labels=MappingProxyType({t: trigger_labels[t] for t in stored.triggers if t in trigger_labels}),
        fields=MappingProxyType(fields),
    )


def load_definition_file(path: Path) -> Definition:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DefinitionError([Problem(str(path), 1, "definition.unreadable", {"detail": str(error)})]) from None
    return load_definition_text(text, str(path))


def load_definitions(directory: Path) -> dict[str, Definition]:
    """Every definition of a folder; all problems of all files are reported together."""
    definitions: dict[str, Definition] = {}
    problems: list[Problem] = []
    for path in definition_files(directory):
        try:
            definition = load_definition_file(path)
        except DefinitionError as error:
            problems.extend(error.problems)
            continue
        if definition.name in definitions:
            problems.append(Problem(str(path), 1, "definition.duplicate_name", {"name": definition.name}))
        definitions[definition.name] = definition
    if problems:
        raise DefinitionError(problems)
    return definitions


def _label(raw: dict[str, str]) -> Label:
    return Label(zh=raw["zh"], en=raw["en"])


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(item) for item in value)
    return value


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list) else (value,)


def _build(data: dict[str, Any], text: str, file: str) -> Definition:
    states = {
        name: State(
            name=name,
            label=_label(spec["label"]),
            roles=_tuple(spec.get("role")),
            terminal=spec.get("terminal", False),
            editable=spec.get("editable", False),
        )
        for name, spec in data["states"].items()
    }
    transitions = []
    for spec in data["transitions"]:
        guards = []
        for guard in spec.get("guards", []):
            if isinstance(guard, str):
                guards.append(GuardSpec(guard))
            else:
                ((name, params),) = guard.items()
                guards.append(GuardSpec(name, _freeze(params)))
        late = spec.get("late_after")
        transitions.append(
            Transition(
                trigger=spec["trigger"],
                sources=_tuple(spec["source"]),
                dest=spec["dest"],
                role=spec["role"],
                guards=tuple(guards),
                starts_revision=spec.get("starts_revision", False),
                late_after=LateMark(late["from_field"], late["working_days"]) if late else None,
                fires_at=spec.get("fires_at"),
                optional_fields=_tuple(spec.get("optional_fields") or ()),
            )
        )
    fields = {
        name: FieldSpec(
            name=name,
            type=spec["type"],
            label=_label(spec["label"]),
            choices=tuple(spec.get("choices") or ()),
            required=spec.get("required", False),
            help=_label(spec["help"]) if "help" in spec else None,
            choice_labels=MappingProxyType(
                {value: _label(label) for value, label in spec["choices"].items()}
                if isinstance(spec.get("choices"), dict)
                else {}
            ),
        )
        for name, spec in (data.get("fields") or {}).items()
    }
    return Definition(
        name=data["name"],
        version=definition_version(text),
        label=_label(data["label"]),
        reference_prefix=data["reference_prefix"],
        initial=data["initial"],
        creator_role=data["creator_role"],
        states=MappingProxyType(states),
        transitions=tuple(transitions),
        fields=MappingProxyType(fields),
        requires_category=data.get("requires_category", False),
        source_text=text,
        source_path=file,
        deadlines=_deadlines(data, states),
        assign_creator=data.get("assign_creator", True),
        **({"assigned_by": tuple(data["assigned_by"])} if "assigned_by" in data else {}),
        trigger_labels=MappingProxyType(
            {name: _label(spec["label"]) for name, spec in (data.get("triggers") or {}).items()}
        ),
    )


def _reminders(raw: dict[str, Any] | None) -> ReminderPolicy:
    raw = raw or {}
    return ReminderPolicy(
        before=tuple(sorted(raw.get("before", []), reverse=True)),
        on_due_day=raw.get("on_due_day", True),
        notify=_tuple(raw.get("notify")),
        escalate_to=raw.get("escalate_to"),
        repeat_escalation=raw.get("repeat_escalation", True),
    )


def _deadlines(data: dict[str, Any], states: dict[str, State]) -> tuple[DeadlineSpec, ...]:
    """Item deadlines first, then each state's own (named ``state:<name>``)."""
    specs: list[DeadlineSpec] = []
    for name, raw in (data.get("deadlines") or {}).items():
        starts = raw.get("starts") or {}
        extension = raw.get("extension") or {}
        policy = DeadlinePolicy(
            name=name,
            working_days=raw.get("working_days") or raw["calendar_days"],
            start_field=starts.get("field"),
            start_state=starts.get("state"),
            met_states=_tuple(raw.get("met_on")),
            pause_states=_tuple(raw.get("pause_in")),
            suspend_states=_tuple(raw.get("suspend_in")),
            restart_triggers=_tuple(raw.get("restart_on")),
            extension_trigger=extension.get("trigger"),
            extension_working_days=extension.get("working_days", 0),
            calendar_days="calendar_days" in raw,
        )
        specs.append(DeadlineSpec(policy, _label(raw["label"]), _reminders(raw.get("reminders"))))
    for state_name, raw_state in data["states"].items():
        raw = raw_state.get("deadline")
        if raw is None:
            continue
        state = states[state_name]
        policy = DeadlinePolicy(
            name=f"state:{state_name}",
            working_days=raw.get("working_days") or raw["calendar_days"],
            start_state=state_name,
            calendar_days="calendar_days" in raw,
        )
        label = _label(raw["label"]) if "label" in raw else state.label
        specs.append(DeadlineSpec(policy, label, _reminders(raw.get("reminders"))))
    return tuple(specs)


def load_catalog(directory: Path) -> Catalog:
    """The disclosure catalogue (公开目录): sub-directories with code and name."""
    path = directory / CATALOG_FILE
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DefinitionError([Problem(file, 1, "definition.unreadable", {"detail": str(error)})]) from None
    data, source_map = _read(text, file)
    problems: list[Problem] = []
    entries = data.get("categories") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise DefinitionError([Problem(file, 1, "catalog.no_categories")])
    categories: list[Category] = []
    codes: set[str] = set()
    for index, entry in enumerate(entries):
        line = source_map.line(("categories", index))
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("code"), str)
            and isinstance(entry.get("name"), dict)
            and set(entry["name"]) == {"zh", "en"}
        ):
            problems.append(Problem(file, line, "catalog.bad_entry"))
            continue
        if entry["code"] in codes:
            problems.append(Problem(file, line, "catalog.duplicate_code", {"code": entry["code"]}))
        codes.add(entry["code"])
        cycle = entry.get("update_every_days")
        if cycle is not None and not (isinstance(cycle, int) and not isinstance(cycle, bool) and cycle > 0):
            problems.append(Problem(file, line, "catalog.bad_cycle", {"code": entry["code"]}))
            cycle = None
        categories.append(Category(code=entry["code"], label=_label(entry["name"]), update_every_days=cycle))
    if problems:
        raise DefinitionError(problems)
    return Catalog(tuple(categories))

"""Plain, frozen data describing one approval chain, as loaded from YAML."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from workflow.core.i18n import N_, translator

FIELD_TYPES = ("text", "date", "datetime", "choice")

ENGINE_ACTIONS: dict[str, str] = {
    "create": N_("Create"),
    "edit": N_("Edit"),
    "assign": N_("Assign"),
    # people changes: item-less rows of the audit chain
    "person.add": N_("Add person"),
    "person.roles": N_("Change roles"),
    "person.deactivate": N_("Deactivate person"),
    "person.activate": N_("Activate person"),
    "person.delegate": N_("Name a substitute"),
    "person.digest": N_("Choose digest"),
    # publication channels: item-bound rows that do not move the item
    "channel": N_("Publication channel"),
    "channel.retry": N_("Retry publication channels"),
}
"""Audit actions not declared in any YAML (the engine's and people changes); their text is in the catalogues."""


@dataclass(frozen=True)
class Label:
    zh: str
    en: str

    def in_lang(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class GuardSpec:
    """A named guard with its parameters; the name refers to :mod:`workflow.core.guards`."""

    name: str
    params: Any = None
    """The YAML value after the name: None, a string, a list or a mapping."""


@dataclass(frozen=True)
class LateMark:
    """Marks a transition late (it is still allowed) past N working days from a date field."""

    from_field: str
    working_days: int


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    label: Label
    choices: tuple[str, ...] = ()
    required: bool = False
    choice_labels: MappingProxyType[str, Label] = field(default_factory=lambda: MappingProxyType({}))
    """Each choice as people call it; a version stored before choices had labels has none."""
    help: Label | None = None
    """What to enter and how (shown beside the field's input in the forms)."""

    def choice_label(self, value: str, lang: str) -> str:
        """A choice as people call it in ``lang``; one without a label is shown as stored."""
        label = self.choice_labels.get(value)
        return label.in_lang(lang) if label else value


@dataclass(frozen=True)
class State:
    name: str
    label: Label
    roles: tuple[str, ...] = ()
    terminal: bool = False
    editable: bool = False


@dataclass(frozen=True)
class Transition:
    trigger: str
    sources: tuple[str, ...]
    dest: str | None
    """``None`` is an internal transition: logged, the state does not change."""
    role: str
    guards: tuple[GuardSpec, ...] = ()
    starts_revision: bool = False
    late_after: LateMark | None = None
    fires_at: str | None = None
    """A datetime field: the worker fires this transition once that moment has come (scheduled publication)."""
    optional_fields: tuple[str, ...] = ()
    """Fields a person may give with this fire, offered on its pages beside the required ones (有效期至 at sign-off)."""

    def guard(self, name: str) -> GuardSpec | None:
        return next((guard for guard in self.guards if guard.name == name), None)


@dataclass(frozen=True)
class DeadlinePolicy:
    name: str
    working_days: int
    start_field: str | None = None
    """Start from this date field of the item (e.g. ``received_on``)."""
    start_state: str | None = None
    """Start when the item (last) enters this state; None with no field: when it is created."""
    met_states: tuple[str, ...] = ()
    """Met when the item enters one of these; for a state's own deadline: when it leaves it."""
    pause_states: tuple[str, ...] = ()
    suspend_states: tuple[str, ...] = ()
    restart_triggers: tuple[str, ...] = ()
    extension_trigger: str | None = None
    extension_working_days: int = 0
    calendar_days: bool = False
    """Count calendar days instead of working days (e.g. budgets: 20 days, Budget Law art. 14)."""


@dataclass(frozen=True)
class ReminderPolicy:
    """When reminders go out for a deadline, and to whom (roles on the item)."""

    before: tuple[int, ...] = ()
    """Working days before the due date, e.g. (5, 1)."""
    on_due_day: bool = True
    notify: tuple[str, ...] = ()
    """Roles reminded; empty means the roles that act in the item's current state."""
    escalate_to: str | None = None
    """The role above, told once the deadline has passed."""
    repeat_escalation: bool = True
    """Escalate again every working day while overdue, not just once."""


@dataclass(frozen=True)
class DeadlineSpec:
    policy: DeadlinePolicy
    label: Label
    reminders: ReminderPolicy


@dataclass(frozen=True)
class Definition:
    name: str
    version: str
    """Content hash of the source text: what an item pins."""
    label: Label
    reference_prefix: str
    initial: str
    creator_role: str
    states: MappingProxyType[str, State]
    transitions: tuple[Transition, ...]
    fields: MappingProxyType[str, FieldSpec]
    requires_category: bool
    source_text: str
    source_path: str
    deadlines: tuple[DeadlineSpec, ...] = ()
    assign_creator: bool = True
    """The creator holds the creator role on the item (the drafter); False leaves it to everyone with it."""
    assigned_by: tuple[str, ...] = ("admin", "leader", "office")
    """Roles that may hand a role on an item to one person (``assigned_by`` in the YAML); the
    default is the office's practice since the first definitions, which do not declare it."""
    trigger_labels: MappingProxyType[str, Label] = field(default_factory=lambda: MappingProxyType({}))
    """Each trigger as people call it; a version stored before triggers had labels has none."""

    def trigger_label(self, trigger: str, lang: str) -> str:
        """A decision as people call it: the YAML's label, an engine action's, or the name itself."""
        label = self.trigger_labels.get(trigger)
        if label is not None:
            return label.in_lang(lang)
        return action_label(trigger, lang)

    def transitions_for(self, trigger: str, state: str) -> Transition | None:
        return next(
            (t for t in self.transitions if t.trigger == trigger and state in t.sources),
            None,
        )

    def triggers_from(self, state: str) -> list[str]:
        seen: dict[str, None] = {}
        for transition in self.transitions:
            if state in transition.sources:
                seen.setdefault(transition.trigger)
        return list(seen)

    @property
    def triggers(self) -> list[str]:
        return list(dict.fromkeys(t.trigger for t in self.transitions))

    @property
    def timed_transitions(self) -> tuple[Transition, ...]:
        """Transitions the worker fires when the moment in their ``fires_at`` field has come."""
        return tuple(t for t in self.transitions if t.fires_at is not None)


@dataclass(frozen=True)
class Category:
    code: str
    label: Label
    update_every_days: int | None = None
    """Published items of this sub-directory are re-checked this many days after publication."""


@dataclass(frozen=True)
class Catalog:
    categories: tuple[Category, ...]

    def find(self, code_or_name: str) -> Category | None:
        wanted = code_or_name.strip()
        for category in self.categories:
            if wanted in (category.code, category.label.zh, category.label.en):
                return category
        return None


def action_label(trigger: str, lang: str) -> str:
    """An engine action (create, edit, assign) as people call it; any other name as it is."""
    text = ENGINE_ACTIONS.get(trigger)
    return translator(lang)._(text) if text else trigger

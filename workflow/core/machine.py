"""One compiled ``transitions.Machine`` per definition version, shared by all its items.

Items are never attached to the machine (``add_model`` scans a list, so attaching
thousands of items is quadratic). To move an item we hand the machine a short-lived
cursor that carries the item's state; the machine's own transition table decides
whether the trigger exists from that state and where it leads.
"""

from __future__ import annotations

from transitions import Machine, MachineError

from workflow.core.definition import Definition
from workflow.core.errors import TransitionNotAllowed


class _Cursor:
    """Stands in for an item while the machine moves it."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


class CompiledDefinition:
    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        self.machine = Machine(
            model=None,
            states=list(definition.states),
            transitions=[
                {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest} for t in definition.transitions
            ],
            initial=definition.initial,
            auto_transitions=False,
            send_event=True,
        )

        # The machine's transition table, read once: (state, trigger) -> destination. Asking
        # the machine per fire (event.trigger on a cursor) gives the same answer in 7.7 µs
        # instead of 0.1 µs; ``run`` does exactly that, and the tests hold the two equal.
        self.table: dict[tuple[str, str], str] = {
            (source, trigger): transitions[0].dest or source
            for trigger, event in self.machine.events.items()
            for source, transitions in event.transitions.items()
        }

    def next_state(self, state: str, trigger: str) -> str:
        """Where ``trigger`` leads from ``state``; raises when the machine has no such transition."""
        dest = self.table.get((state, trigger))
        if dest is not None:
            return dest
        if trigger not in self.machine.events:
            raise TransitionNotAllowed("refuse.unknown_trigger", trigger=trigger, state=state)
        raise TransitionNotAllowed("refuse.wrong_state", trigger=trigger, state=state)

    def run(self, state: str, trigger: str) -> str:
        """Let the machine itself move a cursor: the reference ``next_state`` must agree with."""
        cursor = _Cursor(state)
        try:
            self.machine.events[trigger].trigger(cursor)
        except (MachineError, KeyError):
            raise TransitionNotAllowed("refuse.wrong_state", trigger=trigger, state=state) from None
        return cursor.state

    def triggers_from(self, state: str) -> list[str]:
        return list(self.machine.get_triggers(state))


_COMPILED: dict[tuple[str, str], CompiledDefinition] = {}


def compiled(definition: Definition) -> CompiledDefinition:
    """The shared machine of this exact definition version (name and content hash)."""
    key = (definition.name, definition.version)
    machine = _COMPILED.get(key)
    if machine is None:
        machine = _COMPILED.setdefault(key, CompiledDefinition(definition))
    return machine

"""A definition drawn as a Mermaid ``stateDiagram-v2``."""

from __future__ import annotations

from workflow.core.definition import Definition


def mermaid(definition: Definition, lang: str = "zh") -> str:
    lines = ["stateDiagram-v2"]
    for state in definition.states.values():
        lines.append(f'    state "{state.label.in_lang(lang)}" as {state.name}')
    lines.append(f"    [*] --> {definition.initial}")
    for transition in definition.transitions:
        for source in transition.sources:
            dest = transition.dest or source
            lines.append(f"    {source} --> {dest}: {transition.trigger}")
    for state in definition.states.values():
        if state.terminal:
            lines.append(f"    {state.name} --> [*]")
    return "\n".join(lines)

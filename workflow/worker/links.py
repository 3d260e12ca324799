"""Action links for emails written inside a transition: made when the worker sends them.

A new-task notice records whom it is for (with whom they stand in for) and the item's
version; when it is sent, the item is read again and the links offer the decisions that
person may take now (roles, separation of duties, quorum), each signed for that version. A
notice whose item moved on before it was sent carries no decision links, only the link to
the item page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from notifications.notices import acting_person, decisions_for
from notifications.render import ActionLink, action_links
from workflow.core.errors import NotFound
from workflow.engine import WorkflowEngine
from workflow.store.db import reading
from workflow.tokens import Tokens


class EmailLinks:
    def __init__(self, engine: WorkflowEngine, tokens: Tokens) -> None:
        self.engine = engine
        self.tokens = tokens

    def links(self, base_url: str, acting: Mapping[str, Any], lang: str) -> list[ActionLink]:
        with reading(self.engine.db) as conn:
            try:
                row = self.engine.item_row(conn, int(acting["item_id"]))
            except NotFound:
                return []
            if row.version != int(acting["version"]):
                return []
            definition = self.engine.registry.pinned(conn, row.definition, row.definition_version)
        person = acting_person(acting)
        decisions = decisions_for(definition, row, person)
        return action_links(self.tokens, base_url, person.name, row.id, row.version, decisions, lang, definition)

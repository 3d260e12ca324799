"""The roles people hold in the office."""

from __future__ import annotations

from workflow.core.definition import Label

ROLES: dict[str, Label] = {
    "drafter": Label("承办人", "Drafter"),
    "confidentiality_reviewer": Label("保密审查员", "Confidentiality reviewer"),
    "legal_reviewer": Label("合法性审查员", "Legality reviewer"),
    "leader": Label("领导", "Leader"),
    "office": Label("公开办", "Disclosure office"),
    "auditor": Label("审计员", "Auditor"),
    "admin": Label("管理员", "Administrator"),
}


def role_label(role: str, lang: str) -> str:
    label = ROLES.get(role)
    return label.in_lang(lang) if label else role

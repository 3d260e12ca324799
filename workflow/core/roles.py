"""The roles people hold in the office."""

from __future__ import annotations

from workflow.core.i18n import N_, translator

ROLES: dict[str, str] = {
    "drafter": N_("Drafter"),
    "confidentiality_reviewer": N_("Confidentiality reviewer"),
    "legal_reviewer": N_("Legality reviewer"),
    "leader": N_("Leader"),
    "office": N_("Disclosure office"),
    "auditor": N_("Auditor"),
    "admin": N_("Administrator"),
}
"""Each role's name in the code, and its English text in the catalogues."""


def role_label(role: str, lang: str) -> str:
    text = ROLES.get(role)
    return translator(lang)._(text) if text else role

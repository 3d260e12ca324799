"""Attachments are part of a revision: the list in ``meta["attachments"]``, and the edits that change it.

Each attachment is ``{name, sha256, size, media_type}``, in upload order; the content hash of the
item covers the list (:func:`workflow.core.chain.content_hash` covers ``meta``), so a reviewer
clears the exact files that will be published. Attaching or removing a file is an edit
(:func:`workflow.core.authoring.decide_edit`): the same editable states and the same roles, and the
audit row's details name the files added or removed. Pure: the bytes are stored by the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from workflow.core.authoring import Edit, ItemText, decide_edit, editing_role
from workflow.core.decisions import ItemSnapshot, Person
from workflow.core.definition import Catalog
from workflow.core.errors import InvalidInput, NotFound

ATTACHMENTS = "attachments"


@dataclass(frozen=True)
class Upload:
    """A file handed to the engine to attach: the name as the person gave it, and its content
    (a seekable binary stream, read from its start; the caller closes it)."""

    name: str
    content: BinaryIO


@dataclass(frozen=True)
class Attachment:
    """One file of a revision, as ``meta["attachments"]`` keeps it."""

    name: str
    sha256: str
    size: int
    media_type: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "size": self.size, "media_type": self.media_type}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Attachment:
        return cls(str(data["name"]), str(data["sha256"]), int(data["size"]), str(data["media_type"]))


def attachments_of(meta: Mapping[str, Any] | None) -> list[Attachment]:
    """The attachments of a revision's metadata, in upload order."""
    return [Attachment.from_json(entry) for entry in (meta or {}).get(ATTACHMENTS) or ()]


def with_added(meta: Mapping[str, Any] | None, added: Sequence[Attachment]) -> dict[str, Any]:
    """``meta`` with ``added`` after its attachments; a file already there (the same content) is refused."""
    present = attachments_of(meta)
    by_hash = {a.sha256: a for a in present}
    for attachment in added:
        other = by_hash.get(attachment.sha256)
        if other is not None:
            raise InvalidInput("upload.duplicate", name=attachment.name, other=other.name)
        by_hash[attachment.sha256] = attachment
    return {**dict(meta or {}), ATTACHMENTS: [a.to_json() for a in [*present, *added]]}


def without(meta: Mapping[str, Any] | None, sha256: str, reference: str) -> tuple[dict[str, Any], Attachment]:
    """``meta`` without the attachment whose content is ``sha256``, and that attachment."""
    present = attachments_of(meta)
    gone = next((a for a in present if a.sha256 == sha256.strip().lower()), None)
    if gone is None:
        raise NotFound("upload.not_attached", reference=reference, sha256=sha256)
    kept = [a.to_json() for a in present if a is not gone]
    return {**dict(meta or {}), ATTACHMENTS: kept}, gone


def refuse_attachments_in(meta: Mapping[str, Any] | None) -> None:
    """Attachments enter only as uploads (stored and checked), never written into ``meta`` by a caller."""
    if meta and meta.get(ATTACHMENTS):
        raise InvalidInput("upload.meta_attachments")


def named(attachments: Sequence[Attachment]) -> list[dict[str, str]]:
    """How an audit row names files: name and content hash."""
    return [{"name": a.name, "sha256": a.sha256} for a in attachments]


def decide_attach(
    snapshot: ItemSnapshot,
    text: ItemText,
    person: Person,
    added: Sequence[Attachment],
    *,
    body: str | None = None,
    title: str | None = None,
    meta: Mapping[str, Any] | None = None,
    catalog: Catalog | None = None,
    category: str | None = None,
    fields: Mapping[str, Any] | None = None,
) -> Edit:
    """An edit that adds ``added`` to the attachments (and, from an edit form, may change the text too).

    Whether this person may edit in this state is asked first, then whether the files are new here.
    ``meta`` None keeps the item's other metadata; a mapping replaces it, the attachments kept.
    """
    new_body = text.body if body is None else body
    editing_role(snapshot, person)  # the state and the role first
    refuse_attachments_in(meta)
    base = dict(text.meta) if meta is None else {**dict(meta), ATTACHMENTS: text.meta.get(ATTACHMENTS) or []}
    edit = decide_edit(
        snapshot, text, person, body=new_body, title=title, meta=with_added(base, added),
        catalog=catalog, category=category, fields=fields,
    )  # fmt: skip
    if added:
        edit.details["attached"] = named(added)
    return edit


def decide_detach(snapshot: ItemSnapshot, text: ItemText, person: Person, sha256: str, reference: str) -> Edit:
    """An edit that removes one attachment, named by its content hash."""
    editing_role(snapshot, person)  # the state and the role first
    meta, gone = without(text.meta, sha256, reference)
    edit = decide_edit(snapshot, text, person, body=text.body, title=None, meta=meta)
    edit.details["detached"] = named([gone])
    return edit

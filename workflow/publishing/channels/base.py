"""What every channel is: one job in, one outcome out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from workflow.core.publication import PublicItem


@dataclass(frozen=True)
class ChannelJob:
    """One row of ``publication_jobs`` as a channel sees it."""

    id: int
    key: str
    """The idempotency key: the same on every attempt of this job (the webhook's ``Idempotency-Key``)."""
    item_id: int
    channel: str
    event: str
    """``publish``, ``withdraw``, ``expire`` or ``repeal``."""
    revision: int
    attempts: int
    """Attempts started, this one included."""


class ChannelError(Exception):
    """A channel could not do its job; ``retry`` False when trying again cannot help (e.g. a 4xx answer)."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


class Channel(Protocol):
    name: str

    def perform(self, job: ChannelJob, item: PublicItem) -> str:
        """Do the job for ``item`` (as the public sees it now); a short text of what was done, for the audit row.

        Must be idempotent: a job may be performed again after a worker died mid-way.
        Raises :class:`ChannelError` when it failed.
        """
        ...

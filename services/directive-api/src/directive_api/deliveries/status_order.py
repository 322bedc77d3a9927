"""The order of a delivery's statuses, so that packages applied in any order end in one state.

Status packages travel through the exchange and come back in any order, late or twice. A delivery
shows the greatest status it was ever told, by this order:

1. the stage of the code: ``sent`` < ``01`` arrived < ``02`` refused = ``03`` accepted <
   ``04`` assigned < ``05`` processing < ``06`` done < ``13`` recall requested = ``15`` recall or
   update agreed = ``16`` refused (the recall track comes after the document's own life);
2. within a stage, the later ``Timestamp`` (a unit that refused and then accepted, or answered a
   recall twice, is shown by its last word);
3. then the code and the description, so that even two packages stamped the same second give one
   answer whatever their order.

It is a total order, so the state is the maximum of what was received: the same for every order
and every duplication.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from directive_api.deliveries.models import DeliveryStatus as S

STAGE: dict[str, int] = {
    S.sent: 0,
    S.arrived: 1,
    S.refused: 2,
    S.accepted: 2,
    S.assigned: 3,
    S.processing: 4,
    S.done: 5,
    S.recall_requested: 6,
    S.recall_agreed: 6,
    S.recall_refused: 6,
}


@dataclass(frozen=True)
class StatusPoint:
    """A delivery status with the time it was reported and why."""

    status: str
    at: datetime
    reason: str | None = None

    def key(self) -> tuple[int, datetime, str, str]:
        return (STAGE[self.status], self.at, self.status, self.reason or "")


def supersedes(new: StatusPoint, current: StatusPoint) -> bool:
    """Whether ``new`` replaces ``current`` as the status a delivery shows."""
    return new.key() > current.key()


def is_further_along(status: str, current: str) -> bool:
    """Whether ``status`` is a later stage than ``current`` (times aside)."""
    return STAGE[status] > STAGE.get(current, len(STAGE))

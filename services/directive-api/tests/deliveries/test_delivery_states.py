"""The delivery statuses are defined once: the enum, the table's check constraint and the status order agree."""

from __future__ import annotations

from sqlalchemy import CheckConstraint

from directive_api.deliveries.models import DELIVERY_STATUSES, Delivery, DeliveryStatus
from directive_api.deliveries.service import COMPLIANCE_TO_DELIVERY
from directive_api.deliveries.status_order import STAGE, is_further_along


def test_the_constraint_and_the_status_order_know_exactly_the_enum() -> None:
    assert tuple(s.value for s in DeliveryStatus) == DELIVERY_STATUSES
    assert set(STAGE) == set(DeliveryStatus)
    [constraint] = [
        c for c in Delivery.__table__.constraints if isinstance(c, CheckConstraint) and "status_known" in str(c.name)
    ]
    allowed = str(constraint.sqltext)
    assert all(f"'{s.value}'" in allowed for s in DeliveryStatus)
    assert allowed.count("'") == 2 * len(DeliveryStatus)


def test_the_status_column_reads_back_as_the_enum() -> None:
    column = Delivery.__table__.c.status
    read = column.type.result_processor(None, None)
    assert read is not None
    assert read("03") is DeliveryStatus.accepted
    assert column.type.length == 8


def test_compliance_events_only_ever_imply_later_statuses_than_sent() -> None:
    implied = [code for _status, code in COMPLIANCE_TO_DELIVERY.values() if code is not None]
    assert implied == [
        DeliveryStatus.accepted,
        DeliveryStatus.processing,
        DeliveryStatus.processing,
        DeliveryStatus.done,
    ]
    assert all(is_further_along(code, DeliveryStatus.sent) for code in implied)

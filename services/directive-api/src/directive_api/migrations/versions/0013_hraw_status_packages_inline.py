"""exchange_packages.raw: an incoming status package keeps its bytes in its row

A status package is a few kilobytes. Kept in the file store, each cost a file, its directories and
an ``fsync`` — at a fan-out of thousands of statuses, about a third of the exchange worker's CPU.
In its row it is made durable by the commit that records it. Documents, replies and quarantined
packages stay in the file store (``sha256`` names them there; for a status package it is the
digest of ``raw``). Existing status packages stay where they are (``raw`` NULL).

Revision ID: 0013_hraw
Revises: 0012_hfeed
Create Date: 2026-12-03 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_hraw"
down_revision: str | None = "0012_hfeed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_packages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exchange_packages", schema=None) as batch_op:
        batch_op.drop_column("raw")

"""The declarative base of the funds service and the plumbing tables every service has."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

from shared.db import service_metadata
from shared.directory import directory_tables
from shared.events.tables import event_tables
from shared.program_scope import scope_tables


class Base(DeclarativeBase):
    metadata = service_metadata("funds")


events = event_tables(Base.metadata)
directory = directory_tables(Base.metadata)
scope = scope_tables(Base.metadata)

NOW = sa.func.now()
Timestamp = sa.DateTime(timezone=True)
Money = sa.BigInteger  # integer fen, never float
# Ledgers are fund codes or fiscal years ("2026", "LANBAI-2026"): transfers stay inside one.
LedgerCode = sa.String(32)

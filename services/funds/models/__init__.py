"""Tables of the funds service, all in the PostgreSQL schema `funds`."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.db import service_metadata
from shared.directory import directory_tables
from shared.events.tables import event_tables


class Base(DeclarativeBase):
    metadata = service_metadata("funds")


events = event_tables(Base.metadata)
directory = directory_tables(Base.metadata)

"""Which code each program of the projects service goes by (its `program.created` event).

Funds names programs by code (ledgers `{code}-{year}`, envelopes, voucher schemes) while who
manages or evaluates what is known by program id (`shared.program_scope`); this joins them.
"""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.funds.models.base import Base


class ProgramCode(Base):
    __tablename__ = "program_codes"

    program_id: Mapped[UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), index=True)

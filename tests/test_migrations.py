"""The migrations build exactly the tables the models describe, for every service.

Alembic's autogenerate comparison finds no difference between the migrated test database and
each service's metadata: a model changed without its migration (or the reverse) fails here,
not in production.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncConnection

from services.credit.models import Base as CreditBase
from services.funds.models import Base as FundsBase
from services.gateway.models import Base as GatewayBase
from services.notify.models import Base as NotifyBase
from services.projects.models import Base as ProjectsBase

METADATA = {
    "gateway": GatewayBase.metadata,
    "projects": ProjectsBase.metadata,
    "credit": CreditBase.metadata,
    "funds": FundsBase.metadata,
    "notify": NotifyBase.metadata,
}


def _differences(connection: sa.Connection, metadata: sa.MetaData, schema: str) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "include_schemas": True,
            "include_name": lambda name, type_, _parent: (
                (type_ != "schema" or name == schema) and name != "alembic_version"
            ),
            "compare_type": True,
        },
    )
    return list(compare_metadata(context, metadata))


@pytest.mark.parametrize("service", sorted(METADATA))
async def test_migrations_match_the_models(connection: AsyncConnection, service: str) -> None:
    differences = await connection.run_sync(_differences, METADATA[service], service)
    assert differences == []

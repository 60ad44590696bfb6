"""The events an application publishes for the people who act on it next (their contracts:
`shared/contracts/applications.py`). Each is published in the transaction of its change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Application, Call, FormalCheck, Project, events
from shared.contracts.applications import (
    ApplicationDecidedV1,
    ApplicationDraftCreatedV1,
    ApplicationEndorsementRequestedV1,
    ApplicationFormalCheckDoneV1,
    ApplicationReturnedV1,
    ApplicationSubmittedV1,
)
from shared.events import outbox


class ApplicationEvents:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def draft_created(self, application: Application, call: Call, now: datetime) -> None:
        await outbox.publish(
            self.session,
            events,
            ApplicationDraftCreatedV1(**_about(application, call), created_at=now),
        )

    async def submitted(self, application: Application, call: Call) -> None:
        """The applicant's receipt, and the organization's request to endorse."""
        assert application.submitted_version is not None
        assert application.submitted_at is not None
        submission = {
            "submitted_version": application.submitted_version,
            "submitted_at": application.submitted_at,
        }
        about = _about(application, call)
        await outbox.publish(self.session, events, ApplicationSubmittedV1(**about, **submission))
        await outbox.publish(
            self.session, events, ApplicationEndorsementRequestedV1(**about, **submission)
        )

    async def returned(
        self, application: Application, call: Call, reason: str, now: datetime
    ) -> None:
        await outbox.publish(
            self.session,
            events,
            ApplicationReturnedV1(**_about(application, call), reason=reason, returned_at=now),
        )

    async def formal_check_done(
        self, application: Application, call: Call, check: FormalCheck
    ) -> None:
        assert check.decided_at is not None
        await outbox.publish(
            self.session,
            events,
            ApplicationFormalCheckDoneV1(
                **_about(application, call),
                passed=check.outcome == "passed",
                reason=check.reason,
                failed_rules=[r["rule"] for r in check.results if not r["passed"]],
                decided_at=check.decided_at,
            ),
        )

    async def decided(self, application: Application, call: Call, project: Project | None) -> None:
        assert application.decided_at is not None
        await outbox.publish(
            self.session,
            events,
            ApplicationDecidedV1(
                **_about(application, call),
                outcome=application.status,
                reason=application.decision_reason,
                approved_budget_fen=application.approved_budget_fen,
                project_id=project.id if project else None,
                project_number=project.number if project else None,
                decided_at=application.decided_at,
            ),
        )


def _about(application: Application, call: Call) -> dict[str, Any]:
    return {
        "application_id": application.id,
        "title": application.title,
        "applicant_id": application.applicant_id,
        "org_id": application.org_id,
        "call_id": call.id,
        "call_title": call.title,
        "program_id": call.program_id,
        "call_closes_at": call.closes_at,
    }

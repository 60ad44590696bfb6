"""Change requests of a running project: extension, PI change, budget reallocation.

The PI asks, a manager of the program (with no stake in it) approves or rejects. The limits
are checked when asked and again when approved (the project may have moved in between):
- extension: a later end, at most 12 months beyond the current one;
- PI change: a registered, active person of the same organization;
- budget reallocation: the same total, and indirect costs never grow.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.exceptions import InvalidTransition
from services.projects.execution.access import led_project, managed_project, readable_project
from services.projects.execution.events import ProjectEvents
from services.projects.execution.exceptions import (
    ChangeInvalid,
    ChangeNotFound,
    ChangePending,
    TaskBookMissing,
)
from services.projects.execution.repository import ProjectRepository
from services.projects.execution.schemas import (
    BudgetReallocation,
    ChangeCreate,
    ChangeDecision,
    ExtensionChange,
)
from services.projects.models import ChangeRequest, Project, TaskBook
from services.projects.models.lifecycle import (
    ChangeStatus,
    ProjectStatus,
)
from shared.auth.tokens import Principal
from shared.errors import Text

MAX_EXTENSION_MONTHS = 12


def one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


class ChangeService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ProjectRepository(session)
        self.events = ProjectEvents(session)

    async def request(
        self, principal: Principal, project_id: UUID, data: ChangeCreate, now: datetime
    ) -> ChangeRequest:
        project = await led_project(self.session, principal, project_id)
        if project.status != ProjectStatus.in_progress:
            raise InvalidTransition(project.status)
        if await self.repo.pending_change(project.id, data.kind):
            raise ChangePending()
        book = await self._book(project)
        if isinstance(data, ExtensionChange):
            details = self._extension(project, data.new_ends_on)
        elif isinstance(data, BudgetReallocation):
            details = self._reallocation(book, data.budget.model_dump())
        else:
            details = await self._new_pi(project, data.new_pi_id)
        change = ChangeRequest(
            project_id=project.id,
            kind=data.kind,
            details=details,
            reason=data.reason,
            status=ChangeStatus.pending,
            requested_by=principal.user_id,
            requested_at=now,
        )
        self.session.add(change)
        await self.session.flush()
        await self._record(project, change, principal, None, "change.requested", data.reason)
        return change

    async def of_project(
        self, principal: Principal, project_id: UUID, *, offset: int, limit: int
    ) -> Sequence[ChangeRequest]:
        project = await readable_project(self.session, principal, project_id)
        return await self.repo.changes(project.id, offset=offset, limit=limit)

    async def decide(
        self,
        principal: Principal,
        project_id: UUID,
        change_id: UUID,
        data: ChangeDecision,
        now: datetime,
    ) -> ChangeRequest:
        project = await managed_project(self.session, principal, project_id)
        change = await self.repo.change(project.id, change_id)
        if change is None:
            raise ChangeNotFound()
        if change.status != ChangeStatus.pending:
            raise InvalidTransition(change.status)
        if project.status != ProjectStatus.in_progress:
            raise InvalidTransition(project.status)
        if data.decision == "approve":
            await self._apply(project, change, principal)
        change.status = (
            ChangeStatus.approved if data.decision == "approve" else ChangeStatus.rejected
        )
        change.decision_reason = data.reason
        change.decided_by = principal.user_id
        change.decided_at = now
        await self.session.flush()
        await self._record(
            project, change, principal, ChangeStatus.pending, "change.decided", data.reason
        )
        if change.status == ChangeStatus.approved:
            await self.events.changed(project, change)
        return change

    # --- the three kinds -------------------------------------------------------------------

    @staticmethod
    def _extension(project: Project, new_ends_on: date) -> dict[str, Any]:
        current = project.ends_on
        assert current is not None  # set when the task book was signed
        if new_ends_on <= current:
            raise ChangeInvalid(
                Text(f"新的结束日期须晚于 {current}", f"the new end must be after {current}")
            )
        latest = one_year_after(current)
        if new_ends_on > latest:
            raise ChangeInvalid(
                Text(
                    f"延期最多 {MAX_EXTENSION_MONTHS} 个月（至 {latest}）",
                    f"at most {MAX_EXTENSION_MONTHS} months more (until {latest})",
                )
            )
        return {"old_ends_on": current.isoformat(), "new_ends_on": new_ends_on.isoformat()}

    @staticmethod
    def _reallocation(book: TaskBook, budget: dict[str, int]) -> dict[str, Any]:
        old = dict(book.budget)
        if sum(budget.values()) != sum(old.values()):
            raise ChangeInvalid(
                Text(
                    f"调整后的预算总额须保持 {sum(old.values())} 分",
                    f"the total must stay {sum(old.values())} fen",
                )
            )
        if budget["indirect"] > old.get("indirect", 0):
            raise ChangeInvalid(Text("间接费用不得调增", "indirect costs may not increase"))
        return {"old_budget": old, "budget": budget}

    async def _new_pi(self, project: Project, new_pi_id: UUID) -> dict[str, Any]:
        person = await self.repo.person(new_pi_id)
        if person is None or not person["is_active"]:
            raise ChangeInvalid(
                Text("新负责人须为已注册的在册人员", "the new PI must be a registered person")
            )
        if person["org_id"] != project.org_id:
            raise ChangeInvalid(
                Text("新负责人须为项目承担单位人员", "the new PI must be of the same organization")
            )
        if new_pi_id == project.pi_id:
            raise ChangeInvalid(Text("新负责人与现负责人相同", "that is the current PI"))
        return {
            "old_pi_id": str(project.pi_id),
            "old_pi_name": project.pi_name,
            "new_pi_id": str(new_pi_id),
            "new_pi_name": person["display_name"],
        }

    async def _apply(self, project: Project, change: ChangeRequest, principal: Principal) -> None:
        book = await self._book(project, lock=True)
        details = change.details
        if change.kind == "extension":
            details = self._extension(project, date.fromisoformat(details["new_ends_on"]))
            project.ends_on = book.ends_on = date.fromisoformat(details["new_ends_on"])
        elif change.kind == "budget_reallocation":
            details = self._reallocation(book, details["budget"])
            book.budget = details["budget"]
        else:
            details = await self._new_pi(project, UUID(details["new_pi_id"]))
            project.pi_id = UUID(details["new_pi_id"])
            project.pi_name = details["new_pi_name"]
        change.details = details
        await self.session.flush()
        await history.record(
            self.session,
            entity="project",
            entity_id=project.id,
            application_id=project.application_id,
            action=f"change.{change.kind}",
            actor=principal.subject,
            from_state=project.status,
            to_state=project.status,
            reason=change.reason,
            details={"change_id": str(change.id), **details},
        )

    async def _book(self, project: Project, *, lock: bool = False) -> TaskBook:
        book = await self.repo.task_book(project.id, lock=lock)
        if book is None:
            raise TaskBookMissing()
        return book

    async def _record(
        self,
        project: Project,
        change: ChangeRequest,
        principal: Principal,
        from_state: ChangeStatus | None,
        action: str,
        reason: str,
    ) -> None:
        await history.record(
            self.session,
            entity="change",
            entity_id=change.id,
            application_id=project.application_id,
            action=action,
            actor=principal.subject,
            from_state=from_state,
            to_state=change.status,
            reason=reason,
            details={"kind": change.kind, "project_id": str(project.id)},
        )

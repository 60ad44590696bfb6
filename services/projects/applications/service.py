"""The rules of an application's life up to the formal check.

draft -(submit)-> submitted -(organization: endorse)-> endorsed -(agency: pass)-> in_review
                            -(organization: return)-> returned
                                                      endorsed -(agency: return)-> returned
returned -(submit)-> submitted ...; anything before a decision -(withdraw)-> withdrawn.

Only drafts and returned applications are edited, each save a new version, and only while the
call is open (opens_at <= now < closes_at). Every transition locks the row, checks the state and
writes history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.projects import history
from services.projects.applications import budget as budget_rules
from services.projects.applications import formal_check
from services.projects.applications.attachments import Upload
from services.projects.applications.events import ApplicationEvents
from services.projects.applications.exceptions import (
    AttachmentInUse,
    FormalCheckNotFound,
    Incomplete,
    IndirectOverLimit,
    InvalidTeam,
    NoOrganization,
    OrganizationIneligible,
    ReasonRequired,
    RulesFailed,
    StaleVersion,
    UnknownAttachments,
    UnknownPeople,
    VersionNotFound,
)
from services.projects.applications.formal_check import CreditAnswers, CreditQuestion
from services.projects.applications.repository import (
    ApplicationRepository,
    Labels,
    VersionRow,
)
from services.projects.applications.schemas import (
    PI_ROLE,
    ApplicationContent,
    ApplicationCreate,
    ApplicationSave,
    Endorsement,
    FormalDecision,
)
from services.projects.consortium.rules import check_submittable as check_consortium
from services.projects.drafting import check_not_delegate, drafted_application
from services.projects.exceptions import (
    ApplicationNotFound,
    AttachmentNotFound,
    CallClosed,
    CallNotFound,
    CallNotOpen,
    ChangedMeanwhile,
    InvalidTransition,
)
from services.projects.models import (
    Application,
    ApplicationVersion,
    Attachment,
    Call,
    FormalCheck,
    Transition,
)
from services.projects.models.calls import CallState
from services.projects.models.submissions import UNDER_REVIEW, ApplicationStatus
from services.projects.reporting.notices import today
from services.projects.reporting.service import ReportSchedules
from services.projects.scope import check_duties, check_personal_duties, require_manager_of
from services.projects.visibility import (
    Access,
    applicant_side,
    application_access,
    application_filter,
    may_read_application,
)
from shared.auth.tokens import Principal
from shared.clock import in_shanghai
from shared.credit_client import CreditClient
from shared.errors import Text
from shared.ids import uuid7

EDITABLE = (ApplicationStatus.draft, ApplicationStatus.returned)
# A retried submit in these states (same version) is answered as the first one was.
SUBMITTED = (ApplicationStatus.submitted, ApplicationStatus.endorsed, *UNDER_REVIEW)
WITHDRAWABLE = (*EDITABLE, *SUBMITTED)


def ensure_open(call: Call, now: datetime) -> None:
    """The call takes applications now (`Call.is_open`); otherwise says when it opens or
    closed."""
    if call.is_open(now):
        return
    if call.state == CallState.cancelled or call.is_upcoming(now):
        opens = f"{in_shanghai(call.opens_at):%Y-%m-%d %H:%M:%S}"
        raise CallNotOpen(
            Text(f"申报开始时间为 {opens}（北京时间）", f"the call opens at {opens} Asia/Shanghai"),
            extra={"opens_at": in_shanghai(call.opens_at).isoformat()},
        )
    closes = f"{in_shanghai(call.closes_at):%Y-%m-%d %H:%M:%S}"
    raise CallClosed(
        Text(f"申报已于 {closes}（北京时间）截止", f"the call closed at {closes} Asia/Shanghai"),
        extra={"closes_at": in_shanghai(call.closes_at).isoformat()},
    )


class ApplicationService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repository = ApplicationRepository(session)
        self.events = ApplicationEvents(session)

    # --- finding, with the object rules ----------------------------------------------------

    async def access(
        self, principal: Principal, application_id: UUID
    ) -> tuple[Application, Access]:
        """The application and how much of it the caller reads; 404 if nothing."""
        application = await self.repository.get(application_id)
        access = (
            await application_access(self.session, principal, application)
            if application is not None
            else None
        )
        if application is None or access is None:
            raise ApplicationNotFound()
        return application, access

    async def readable(
        self, principal: Principal, application_id: UUID
    ) -> tuple[Application, Access]:
        """The application itself, for its applicant's side or agency staff; 404 otherwise
        (an assigned expert reads only the attachments of the version under review)."""
        application, access = await self.access(principal, application_id)
        if access is Access.REVIEW:
            raise ApplicationNotFound()
        return application, access

    async def _own(self, principal: Principal, application_id: UUID) -> Application:
        """The caller's own application, locked; anyone else's is not found."""
        application = await self.repository.locked(application_id)
        if application is None or application.applicant_id != principal.user_id:
            raise ApplicationNotFound()
        return application

    async def _managed(
        self, principal: Principal, application_id: UUID, *, lock: bool = True
    ) -> tuple[Application, Call]:
        """Locked (unless told), readable by the caller, of a program they manage, and not
        their own."""
        application = await (
            self.repository.locked(application_id) if lock else self.repository.get(application_id)
        )
        if application is None or not await may_read_application(
            self.session, principal, application
        ):
            raise ApplicationNotFound()
        call = await self._call(application)
        await require_manager_of(self.session, principal, call.program_id)
        await check_duties(self.session, principal, application)
        return application, call

    async def _call(self, application: Application, *, hold: bool = False) -> Call:
        call = await self.repository.call(application.call_id, hold=hold)
        assert call is not None  # a foreign key
        return call

    async def content(self, application: Application, version: int | None = None) -> dict[str, Any]:
        found = await self.repository.version(application.id, version or application.version)
        if found is None:
            raise VersionNotFound()
        return found.content

    async def page(
        self,
        principal: Principal,
        *,
        call_id: UUID | None,
        status: str | None,
        before: UUID | None,
        offset: int,
        limit: int,
    ) -> list[tuple[Application, Access, Labels]]:
        visible = await application_filter(self.session, principal)
        whole = applicant_side(principal)
        rows = await self.repository.page(
            visible,
            whole,
            call_id=call_id,
            status=status,
            before=before,
            offset=offset,
            limit=limit,
        )
        return [(a, Access.WHOLE if mine else Access.SUBMITTED, labels) for a, mine, labels in rows]

    async def labels(self, application: Application) -> Labels:
        return await self.repository.labels(application)

    async def submitted_heads(
        self, rows: Sequence[tuple[Application, Access, Labels]]
    ) -> dict[UUID, dict[str, Any]]:
        """What staff are shown of each application they read: its submitted version's."""
        return await self.repository.submitted_heads(
            [a for a, access, _ in rows if access is Access.SUBMITTED]
        )

    async def _shown_versions(self, application: Application, access: Access) -> set[int] | None:
        """The versions the caller may read (None: all of them)."""
        if access is Access.WHOLE:
            return None
        if access is Access.REVIEW:
            assert application.submitted_version is not None
            return {application.submitted_version}
        return await self.repository.submitted_versions(application)

    async def versions(
        self, principal: Principal, application_id: UUID, *, offset: int, limit: int
    ) -> Sequence[VersionRow]:
        application, access = await self.readable(principal, application_id)
        shown = await self._shown_versions(application, access)
        return await self.repository.versions(
            application.id, only=shown, offset=offset, limit=limit
        )

    async def version(
        self, principal: Principal, application_id: UUID, number: int
    ) -> ApplicationVersion:
        application, access = await self.readable(principal, application_id)
        shown = await self._shown_versions(application, access)
        found = await self.repository.version(application.id, number)
        if found is None or (shown is not None and number not in shown):
            raise VersionNotFound()
        return found

    async def story(
        self, principal: Principal, application_id: UUID, *, offset: int, limit: int
    ) -> Sequence[Transition]:
        application, _ = await self.readable(principal, application_id)
        return await history.story(self.session, application.id, offset=offset, limit=limit)

    async def latest_check(self, application: Application) -> FormalCheck | None:
        return await self.repository.latest_check(application.id)

    async def formal_check(self, principal: Principal, application_id: UUID) -> FormalCheck:
        application, _ = await self.readable(principal, application_id)
        check = await self.repository.latest_check(application.id)
        if check is None:
            raise FormalCheckNotFound()
        return check

    # --- drafting --------------------------------------------------------------------------

    async def create(
        self, principal: Principal, data: ApplicationCreate, now: datetime
    ) -> Application:
        call = await self.repository.call(data.call_id)
        if call is None or call.state == CallState.draft:
            raise CallNotFound()
        ensure_open(call, now)
        me, org_id = principal.user_id, principal.org_id
        if me is None or org_id is None:
            raise NoOrganization()
        kind = await self.repository.organization_kind(org_id)
        if kind not in call.eligible_org_kinds:
            raise OrganizationIneligible(
                Text(
                    f"单位类型 {kind or '未知'} 不在 {'、'.join(call.eligible_org_kinds)} 之列",
                    f"organization kind {kind or 'unknown'} is not one of "
                    f"{', '.join(call.eligible_org_kinds)}",
                )
            )
        await self._check_content(None, data.content, me)
        application = Application(
            id=uuid7(),
            call_id=call.id,
            applicant_id=me,
            org_id=org_id,
            status=ApplicationStatus.draft,
            version=1,
            title=data.content.title,
            requested_budget_fen=data.content.budget.total,
            created_at=now,
            updated_at=now,
        )
        first = ApplicationVersion(
            application_id=application.id,
            version=1,
            content=data.content.model_dump(mode="json"),
            saved_by=me,
            saved_at=now,
        )
        await self.repository.add(application, first)
        await history.record(
            self.session,
            entity="application",
            entity_id=application.id,
            application_id=application.id,
            action="create",
            actor=principal.subject,
            to_state=ApplicationStatus.draft,
            details={"version": 1},
        )
        await self.events.draft_created(application, call, now)
        return application

    async def save(
        self, principal: Principal, application_id: UUID, data: ApplicationSave, now: datetime
    ) -> Application:
        """By its PI or a delegate; the version names who saved it."""
        application = await drafted_application(self.session, principal, application_id)
        if application.status not in EDITABLE:
            raise InvalidTransition(application.status)
        if data.base_version != application.version:
            raise StaleVersion(application.version)
        ensure_open(await self._call(application), now)
        await self._check_content(application.id, data.content, application.applicant_id)
        number = application.version + 1
        await self.repository.add_version(
            ApplicationVersion(
                application_id=application.id,
                version=number,
                content=data.content.model_dump(mode="json"),
                saved_by=principal.user_id,
                saved_at=now,
            )
        )
        await self.repository.touch(
            application,
            version=number,
            title=data.content.title,
            requested_budget_fen=data.content.budget.total,
            updated_at=now,
        )
        return application

    async def _check_content(
        self, application_id: UUID | None, content: ApplicationContent, applicant_id: UUID
    ) -> None:
        if content.pi != applicant_id:
            raise InvalidTeam(
                Text(
                    f"申请人须以“{PI_ROLE}”身份列入团队",
                    f"the applicant must be on the team as {PI_ROLE} (PI)",
                )
            )
        members = {m.user_id for m in content.team}
        unknown = members - await self.repository.active_people(members)
        if unknown:
            raise UnknownPeople(sorted(str(u) for u in unknown))
        indirect = budget_rules.check_indirect(content.budget.model_dump())
        if not indirect.within:
            raise IndirectOverLimit(
                Text(
                    f"间接费用 {indirect.indirect_fen} 分超过上限 {indirect.limit_fen} 分",
                    f"indirect costs of {indirect.indirect_fen} fen exceed the limit of "
                    f"{indirect.limit_fen} fen",
                ),
                extra={"indirect_limit_fen": indirect.limit_fen},
            )
        referenced = {a.id: a.kind for a in content.attachments}
        if referenced:
            known = (
                await self.repository.attachment_kinds(application_id, referenced)
                if application_id is not None
                else {}
            )
            wrong = [str(i) for i, kind in referenced.items() if known.get(i) != kind]
            if wrong:
                raise UnknownAttachments(wrong)

    # --- attachments -----------------------------------------------------------------------

    async def ensure_attachable(
        self, principal: Principal, application_id: UUID, now: datetime
    ) -> None:
        """Checked before the upload is read, so nobody else makes us read a file (in a
        session of its own, closed before the file streams in: `attach` checks again)."""
        application = await drafted_application(self.session, principal, application_id, lock=False)
        if application.status not in EDITABLE:
            raise InvalidTransition(application.status)
        ensure_open(await self._call(application), now)

    async def attach(
        self, principal: Principal, application_id: UUID, upload: Upload, now: datetime
    ) -> Attachment:
        application = await drafted_application(self.session, principal, application_id)
        if application.status not in EDITABLE:
            raise InvalidTransition(application.status)
        ensure_open(await self._call(application), now)
        attachment = Attachment(
            id=upload.attachment_id,
            application_id=application.id,
            kind=upload.kind,
            filename=upload.filename,
            content_type=upload.content_type,
            size_bytes=upload.size,
            sha256=upload.sha256,
            object_key=upload.object_key,
            uploaded_by=principal.user_id,
            uploaded_at=now,
        )
        await self.repository.add_attachment(attachment)
        return attachment

    async def _shown_attachments(
        self, application: Application, access: Access
    ) -> set[UUID] | None:
        """The attachments the caller may open (None: all): those of the versions they read."""
        versions = await self._shown_versions(application, access)
        if versions is None:
            return None
        return await self.repository.referenced_attachments(application.id, versions)

    async def attachments(
        self, principal: Principal, application_id: UUID, *, offset: int, limit: int
    ) -> Sequence[Attachment]:
        application, access = await self.access(principal, application_id)
        shown = await self._shown_attachments(application, access)
        return await self.repository.attachments(
            application.id, only=shown, offset=offset, limit=limit
        )

    async def attachment(
        self, principal: Principal, application_id: UUID, attachment_id: UUID
    ) -> Attachment:
        application, access = await self.access(principal, application_id)
        shown = await self._shown_attachments(application, access)
        found = await self.repository.attachment(application.id, attachment_id)
        if found is None or (shown is not None and attachment_id not in shown):
            raise AttachmentNotFound()
        return found

    async def remove_attachment(
        self, principal: Principal, application_id: UUID, attachment_id: UUID
    ) -> Attachment:
        """Deletes an attachment no version that counts lists: not the latest (the draft
        as it stands) and none ever submitted (the agency's record). Its applicant's older
        drafts that listed it keep the reference, which now leads nowhere (404). The caller
        removes the file from the store once the row's removal is committed."""
        application = await drafted_application(self.session, principal, application_id)
        if application.status not in EDITABLE:
            raise InvalidTransition(application.status)
        found = await self.repository.attachment(application.id, attachment_id)
        if found is None:
            raise AttachmentNotFound()
        counted = {application.version, *await self.repository.submitted_versions(application)}
        if attachment_id in await self.repository.referenced_attachments(application.id, counted):
            raise AttachmentInUse()
        await self.repository.delete_attachment(found)
        return found

    # --- transitions -----------------------------------------------------------------------

    async def submit(
        self, principal: Principal, application_id: UUID, now: datetime
    ) -> Application:
        application = await self._own(principal, application_id)
        if application.status in SUBMITTED and application.submitted_version == application.version:
            return application  # a retry: the first submit stands, nothing new is written
        if application.status not in EDITABLE:
            raise InvalidTransition(application.status)
        call = await self._call(application, hold=True)
        ensure_open(call, now)
        await ReportSchedules(self.session).refuse_if_overdue(application.applicant_id, now)
        try:
            content = ApplicationContent.model_validate(await self.content(application))
        except ValidationError as exc:  # only a version written around this API
            raise Incomplete(["content"]) from exc
        missing = formal_check.missing_fields(content)
        if missing:
            raise Incomplete(missing)
        team = {m.user_id for m in content.team}
        await check_consortium(self.session, application, content.budget.total, team)
        before = application.status
        await self.repository.touch(
            application,
            status=ApplicationStatus.submitted,
            submitted_version=application.version,
            submitted_at=now,
            updated_at=now,
        )
        await self._record(
            application, principal, "submit", before, details={"version": application.version}
        )
        await self.events.submitted(application, call)
        return application

    async def withdraw(
        self, principal: Principal, application_id: UUID, reason: str, now: datetime
    ) -> Application:
        application = await self._own(principal, application_id)
        if application.status not in WITHDRAWABLE:
            raise InvalidTransition(application.status)
        before = application.status
        await self.repository.touch(application, status=ApplicationStatus.withdrawn, updated_at=now)
        await self._record(application, principal, "withdraw", before, reason=reason)
        return application

    async def endorse(
        self,
        principal: Principal,
        application_id: UUID,
        data: Endorsement,
        now: datetime,
        credit: CreditClient,
        sessions: async_sessionmaker[AsyncSession],
    ) -> Application:
        """The organization's admin endorses (and the formal check runs) or returns."""
        asked = None
        if data.decision != "return":
            # The credit service is asked first, holding nothing: it may be slow.
            async with sessions() as reading:
                found = await ApplicationService(reading)._endorsable(principal, application_id)
            asked = await formal_check.ask_credit(credit, CreditQuestion.of(found))
        application = await self._endorsable(principal, application_id, lock=True)
        before = application.status
        if asked is None:
            if not data.reason:
                raise ReasonRequired()
            await self.repository.touch(
                application, status=ApplicationStatus.returned, updated_at=now
            )
            await self._record(application, principal, "return", before, reason=data.reason)
            await self.events.returned(application, await self._call(application), data.reason, now)
            return application
        _still_asked_about(asked, application)
        await self.repository.touch(application, status=ApplicationStatus.endorsed, updated_at=now)
        check = await self._run_check(application, asked, now)
        await self.repository.add_check(check)
        await self._record(
            application,
            principal,
            "endorse",
            before,
            reason=data.reason or None,
            details={"formal_check": _summary(check)},
        )
        return application

    async def _endorsable(
        self, principal: Principal, application_id: UUID, *, lock: bool = False
    ) -> Application:
        """A submitted application of the caller's organization that they are not on."""
        application = await (
            self.repository.locked(application_id) if lock else self.repository.get(application_id)
        )
        if application is None or application.org_id != principal.org_id:
            raise ApplicationNotFound()
        await check_personal_duties(self.session, principal, application)
        await check_not_delegate(self.session, principal, application)
        if application.status != ApplicationStatus.submitted:
            raise InvalidTransition(application.status)
        return application

    async def rerun_check(
        self,
        principal: Principal,
        application_id: UUID,
        credit: CreditClient,
        sessions: async_sessionmaker[AsyncSession],
        now: datetime,
    ) -> FormalCheck:
        async with sessions() as reading:
            found, _ = await ApplicationService(reading)._pending_check(principal, application_id)
        asked = await formal_check.ask_credit(credit, CreditQuestion.of(found))
        application, pending = await self._pending_check(principal, application_id, lock=True)
        _still_asked_about(asked, application)
        before = _summary(pending)
        fresh = await self._run_check(application, asked, now)
        # The pending check takes the new results: one check per endorsement, its runs in history.
        pending.results, pending.credit = fresh.results, fresh.credit
        pending.automatic_passed = fresh.automatic_passed
        await self.session.flush()
        await self._record(
            application,
            principal,
            "formal_check.rerun",
            application.status,
            details={"before": before, "after": _summary(pending)},
        )
        return pending

    async def _pending_check(
        self, principal: Principal, application_id: UUID, *, lock: bool = False
    ) -> tuple[Application, FormalCheck]:
        """An endorsed application the caller manages, with its check awaiting a decision."""
        application, _ = await self._managed(principal, application_id, lock=lock)
        if application.status != ApplicationStatus.endorsed:
            raise InvalidTransition(application.status)
        pending = await (
            self.repository.locked_latest_check(application.id)
            if lock
            else self.repository.latest_check(application.id)
        )
        if pending is None or pending.outcome is not None:
            raise FormalCheckNotFound()
        return application, pending

    async def decide_check(
        self, principal: Principal, application_id: UUID, data: FormalDecision, now: datetime
    ) -> Application:
        application, call = await self._managed(principal, application_id)
        if application.status != ApplicationStatus.endorsed:
            raise InvalidTransition(application.status)
        check = await self.repository.locked_latest_check(application.id)
        if check is None or check.version != application.submitted_version:
            raise FormalCheckNotFound()
        if data.decision == "pass" and not check.automatic_passed:
            raise RulesFailed([r["rule"] for r in check.results if not r["passed"]])
        if data.decision == "return" and not data.reason:
            raise ReasonRequired()
        check.outcome = "passed" if data.decision == "pass" else "returned"
        check.reason = data.reason or None
        check.decided_by = principal.user_id
        check.decided_at = now
        before = application.status
        after = (
            ApplicationStatus.in_review if data.decision == "pass" else ApplicationStatus.returned
        )
        await self.repository.touch(application, status=after, updated_at=now)
        await self._record(
            application,
            principal,
            f"formal_check.{data.decision}",
            before,
            reason=data.reason or None,
            details={"formal_check_id": str(check.id)},
        )
        await self.events.formal_check_done(application, call, check)
        return application

    async def _run_check(
        self, application: Application, asked: CreditAnswers, now: datetime
    ) -> FormalCheck:
        """The automatic rules on the submitted version (the applicant's overdue reports as of
        `now`); the result is not stored yet."""
        assert application.submitted_version is not None
        content = await self.content(application, application.submitted_version)
        overdue = await ReportSchedules(self.session).overdue_of(
            application.applicant_id, today(now)
        )
        return await formal_check.run(
            self.repository, asked, application, await self._call(application), content, overdue
        )

    async def _record(
        self,
        application: Application,
        principal: Principal,
        action: str,
        before: str,
        *,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        await history.record(
            self.session,
            entity="application",
            entity_id=application.id,
            application_id=application.id,
            action=action,
            actor=principal.subject,
            from_state=before,
            to_state=application.status,
            reason=reason,
            details=details,
        )


def _still_asked_about(asked: CreditAnswers, application: Application) -> None:
    """The submission the credit service was asked about is the one now locked (it was not
    returned and submitted again in the meantime)."""
    if asked.question != CreditQuestion.of(application):
        raise ChangedMeanwhile(
            Text(
                "查询信用期间申报书被重新提交，请重试",
                "The application was submitted again while its credit was asked; try again",
            )
        )


def _summary(check: FormalCheck) -> dict[str, Any]:
    return {
        "id": str(check.id),
        "automatic_passed": check.automatic_passed,
        "failed": [r["rule"] for r in check.results if not r["passed"]],
    }

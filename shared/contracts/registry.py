"""Every contract, for the schema snapshots and for looking an event's contract up by type."""

from __future__ import annotations

from shared.contracts import accounts, credit, directory, feed, funds, notices, programs, projects
from shared.contracts.base import Contract, EventContract

EVENTS: tuple[type[EventContract], ...] = (
    directory.OrganizationCreatedV1,
    directory.UserCreatedV1,
    directory.UserUpdatedV1,
    accounts.AccountPasswordChangedV1,
    accounts.UserContactChangedV1,
    programs.ProgramCreatedV1,
    programs.ProgramEnvelopeSetV1,
    programs.ProgramRetiredV1,
    programs.ProgramManagerAssignedV1,
    programs.ProgramManagerRemovedV1,
    programs.EvaluatorEngagedV1,
    programs.EvaluatorEngagementEndedV1,
    programs.CallPublishedV1,
    programs.CallCancelledV1,
    programs.ReviewLateV1,
    projects.ProjectApprovedV1,
    projects.ProjectContractedV1,
    projects.ProjectMidtermPassedV1,
    projects.ProjectAcceptedV1,
    projects.ProjectAcceptanceFailedV1,
    projects.ProjectTerminatedV1,
    projects.ProjectChangedV1,
    funds.GrantOpenedV1,
    funds.GrantFrozenV1,
    funds.GrantRecoverySettledV1,
    funds.PaymentOrderApprovedV1,
    funds.PaymentOrderRejectedV1,
    funds.VoucherFraudConfirmedV1,
    credit.CreditRatingChangedV1,
    notices.NoticeDeliveredV1,
    notices.NoticeAcknowledgedV1,
)

# Requests and answers of calls between services.
CALLS: tuple[type[Contract], ...] = (
    feed.EventFeedPageV1,
    feed.EventV1,
    credit.EligibilityQueryV1,
    credit.EligibilityV1,
    credit.BulkEligibilityRequestV1,
    credit.BulkEligibilityV1,
    notices.DirectMessageV1,
)

ALL: tuple[type[Contract], ...] = EVENTS + CALLS

BY_EVENT_TYPE: dict[str, type[EventContract]] = {c.event_type: c for c in EVENTS}

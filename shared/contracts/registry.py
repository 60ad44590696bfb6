"""Every contract, for the schema snapshots and for looking an event's contract up by type."""

from __future__ import annotations

from shared.contracts import (
    accounts,
    applications,
    credit,
    directory,
    experts,
    feed,
    funds,
    notices,
    programs,
    projects,
    review,
)
from shared.contracts.base import Contract, EventContract

EVENTS: tuple[type[EventContract], ...] = (
    directory.OrganizationCreatedV1,
    directory.UserCreatedV1,
    directory.UserUpdatedV1,
    accounts.AccountPasswordChangedV1,
    accounts.AccountEmailChangedV1,
    directory.UserContactChangedV1,
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
    projects.ProjectPublicNoticeStartedV1,
    projects.ObjectionDecidedV1,
    projects.ObjectionDecidedV2,
    projects.TaskBookReadyToSignV1,
    applications.ApplicationDraftCreatedV1,
    applications.ApplicationSubmittedV1,
    applications.ApplicationEndorsementRequestedV1,
    applications.ApplicationReturnedV1,
    applications.ApplicationFormalCheckDoneV1,
    applications.ApplicationDecidedV1,
    review.ReviewAssignedV1,
    review.ReviewUnassignedV1,
    review.ReviewSubmittedV1,
    review.ReviewDeclinedV1,
    experts.ExpertAdmittedV1,
    experts.ExpertApplicationDeclinedV1,
    funds.GrantOpenedV1,
    funds.GrantFrozenV1,
    funds.GrantRecoverySettledV1,
    funds.PaymentOrderApprovedV1,
    funds.PaymentOrderRejectedV1,
    funds.VoucherFraudConfirmedV1,
    funds.PaymentOrderAwaitingApprovalV1,
    funds.VoucherIssuedV1,
    funds.VoucherOrderPlacedV1,
    funds.VoucherRedemptionApprovedV1,
    credit.CreditRatingChangedV1,
    credit.CreditRecordNotifiedV1,
    credit.CreditObjectionDecidedV1,
    credit.CreditAppealDecidedV1,
    notices.NoticeDeliveredV1,
    notices.NoticeAcknowledgedV1,
)

# Requests and answers of calls between services.
CALLS: tuple[type[Contract], ...] = (
    feed.EventFeedPageV1,
    feed.EventV1,
    feed.EventFeedPageV2,
    feed.EventV2,
    credit.EligibilityQueryV1,
    credit.EligibilityV1,
    credit.BulkEligibilityRequestV1,
    credit.BulkEligibilityV1,
    notices.DirectMessageV1,
)

ALL: tuple[type[Contract], ...] = EVENTS + CALLS

BY_EVENT_TYPE: dict[str, type[EventContract]] = {c.event_type: c for c in EVENTS}

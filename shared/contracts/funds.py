"""The funds service's events: grants opened, frozen and recovered, payment orders made and
decided, vouchers issued, ordered and redeemed, and voucher fraud confirmed (which credit turns
into proposed records). Organizations are named by the gateway's ids."""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from uuid import UUID

from shared.contracts.base import EventContract, Moment
from shared.contracts.projects import CreditOrganization


class GrantOpenedV1(EventContract):
    """`project.contracted` applied: the project's budget and account exist."""

    event_type: ClassVar[str] = "grant.opened"
    aggregate_type: ClassVar[str] = "grant"
    aggregate_field: ClassVar[str | None] = "project_id"

    project_id: UUID
    ledger: str
    approved_budget_fen: int
    funds_account_id: UUID


class _GrantEvent(EventContract):
    aggregate_type: ClassVar[str] = "grant"
    aggregate_field: ClassVar[str | None] = "project_id"

    project_id: UUID
    project_number: str
    program_code: str
    year: int
    org_id: UUID


class GrantFrozenV1(_GrantEvent):
    """Unpaid tranches cancelled and the unspent money held for recovery; `cause` is the event
    type of the projects service that stopped the project."""

    event_type: ClassVar[str] = "grant.frozen"

    cause: str
    recovery_fen: int
    cancelled_tranches: list[int]


class GrantRecoverySettledV1(_GrantEvent):
    event_type: ClassVar[str] = "grant.recovery_settled"

    amount_fen: int


class PaymentOrderAwaitingApprovalV1(EventContract):
    """A finance officer made a payment order (the money is held): another finance officer
    approves or rejects it. The payee's organization (`org_id`) is named when the money goes
    to an organization's account."""

    event_type: ClassVar[str] = "payment_order.awaiting_approval"
    aggregate_type: ClassVar[str] = "payment_order"
    aggregate_field: ClassVar[str | None] = "order_id"

    order_id: UUID
    ledger: str
    program_code: str | None
    amount_fen: int
    code: str
    purpose: str
    maker_id: str
    payer_account_id: UUID
    payer_account_name: str
    payee_account_id: UUID
    payee_account_name: str
    org_id: UUID | None
    made_at: Moment


class _PaymentOrderDecided(EventContract):
    aggregate_type: ClassVar[str] = "payment_order"
    aggregate_field: ClassVar[str | None] = "order_id"

    order_id: UUID
    ledger: str
    debit_account_id: UUID
    credit_account_id: UUID
    amount_fen: int
    code: str
    maker_id: str
    decided_by: str
    transfer_id: UUID


class PaymentOrderApprovedV1(_PaymentOrderDecided):
    """The hold posted: the money moved (`transfer_id` posts it)."""

    event_type: ClassVar[str] = "payment_order.approved"


class PaymentOrderRejectedV1(_PaymentOrderDecided):
    """The hold voided (`transfer_id` voids it)."""

    event_type: ClassVar[str] = "payment_order.rejected"


class VoucherFraudConfirmedV1(EventContract):
    """A redemption found fraudulent: credit proposes a VOUCHER_FRAUD record for the enterprise
    and for the provider. The aggregate is the voucher order (its id is the envelope's)."""

    event_type: ClassVar[str] = "voucher.fraud_confirmed"
    aggregate_type: ClassVar[str] = "voucher_order"
    aggregate_field: ClassVar[str | None] = None

    voucher_number: str
    facts: str
    managing_agency: str
    enterprise: CreditOrganization
    provider: CreditOrganization


class VoucherIssuedV1(EventContract):
    """A voucher issued to an enterprise, spendable until `valid_until` (Asia/Shanghai)."""

    event_type: ClassVar[str] = "voucher.issued"
    aggregate_type: ClassVar[str] = "voucher"
    aggregate_field: ClassVar[str | None] = "voucher_id"

    voucher_id: UUID
    voucher_number: str
    program_id: UUID
    program_code: str
    program_name: str
    enterprise: CreditOrganization
    amount_fen: int
    valid_until: date
    expires_at: Moment
    issued_at: Moment


class _VoucherOrderEvent(EventContract):
    aggregate_type: ClassVar[str] = "voucher_order"
    aggregate_field: ClassVar[str | None] = "order_id"

    order_id: UUID
    voucher_number: str
    program_code: str
    enterprise: CreditOrganization
    provider: CreditOrganization
    service_name: str
    contract_amount_fen: int
    voucher_amount_fen: int


class VoucherOrderPlacedV1(_VoucherOrderEvent):
    """The enterprise ordered a service from the provider with its voucher (the voucher part
    is held for the provider)."""

    event_type: ClassVar[str] = "voucher.order_placed"

    ordered_at: Moment


class VoucherRedemptionApprovedV1(_VoucherOrderEvent):
    """The provider's redemption approved: the voucher part is paid to the provider."""

    event_type: ClassVar[str] = "voucher.redemption_approved"

    invoice_number: str | None
    approved_at: Moment

"""Errors of the funds service shared by its packages, each with its status and stable code."""

from __future__ import annotations

from shared.errors import AppError, Conflict, Forbidden, NotFound, ServiceUnavailable, Text


class AccountNotFound(NotFound):
    code = "account.not_found"
    title = Text("账户不存在", "Account not found")


class AccountExistsDifferent(Conflict):
    code = "account.exists_different"
    title = Text(
        "该账户编号已用于另一个不同的账户", "This account id is taken by a different account"
    )


class TransferNotFound(NotFound):
    code = "transfer.not_found"
    title = Text("转账不存在", "Transfer not found")


class TransferRefused(AppError):
    """A transfer the ledger refused; one subclass per result code (see ledger/codes.py)."""

    status = 409
    code = "transfer.refused"
    title = Text("转账被拒绝", "Transfer refused")


class IdempotencyKeyReused(Conflict):
    code = "idempotency.key_reused"
    title = Text(
        "该幂等键已用于另一个不同的请求", "This Idempotency-Key was used for a different request"
    )


class LedgerBusy(ServiceUnavailable):
    code = "ledger.busy"
    title = Text("账本繁忙，请稍后重试", "The ledger is busy; retry shortly")


class PaymentOrderNotFound(NotFound):
    code = "payment_order.not_found"
    title = Text("支付指令不存在", "Payment order not found")


class PaymentOrderExistsDifferent(Conflict):
    code = "payment_order.exists_different"
    title = Text(
        "该支付指令编号已用于另一个不同的指令",
        "This payment order id is taken by a different order",
    )


class PaymentOrderNotPending(Conflict):
    code = "payment_order.invalid_transition"
    title = Text("支付指令当前状态不允许此操作", "The payment order's state does not allow this")


class MakerCannotApprove(Forbidden):
    code = "payment_order.maker_cannot_approve"
    title = Text("制单人不能审批自己的支付指令", "The maker of a payment order cannot approve it")

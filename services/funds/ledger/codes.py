"""What the ledger function answers per transfer, and what each answer means to a client.

Codes follow TigerBeetle's result codes. `status` is the HTTP status the transfer would have
had alone: 201 created, 200 already there, 409 refused by the ledger's state, 422 malformed
or inconsistent with the accounts, 403 needs maker-checker approval.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.funds.exceptions import TransferRefused
from shared.errors import Text

CREATED = "created"
EXISTS = "exists"


@dataclass(frozen=True)
class Outcome:
    status: int
    title: Text


OUTCOMES: dict[str, Outcome] = {
    CREATED: Outcome(201, Text("已入账", "Created")),
    EXISTS: Outcome(200, Text("该转账已存在（重放）", "Already created (replay)")),
    "transfer.exists_different": Outcome(
        409, Text("该转账编号已用于另一个不同的转账", "This id is taken by a different transfer")
    ),
    "transfer.id_must_not_be_empty": Outcome(422, Text("缺少转账编号", "The id is missing")),
    "transfer.flags_are_mutually_exclusive": Outcome(
        422,
        Text(
            "pending、post_pending、void_pending 至多选一",
            "At most one of pending, post_pending and void_pending",
        ),
    ),
    "transfer.amount_out_of_range": Outcome(
        422, Text("金额须为 0 至 2^63-1 之间的整数（分）", "The amount must be 0..2^63-1 fen")
    ),
    "transfer.amount_must_not_be_zero": Outcome(
        422, Text("金额必须大于零", "The amount must be positive")
    ),
    "transfer.ledger_must_not_be_empty": Outcome(422, Text("缺少账本", "The ledger is missing")),
    "transfer.code_must_not_be_empty": Outcome(422, Text("缺少事由代码", "The code is missing")),
    "transfer.pending_id_must_be_empty": Outcome(
        422, Text("只有入账或撤销预留时才填 pending_id", "pending_id is only for posts and voids")
    ),
    "transfer.pending_id_must_not_be_empty": Outcome(
        422, Text("入账或撤销预留须给出 pending_id", "A post or void needs pending_id")
    ),
    "transfer.pending_id_must_be_different": Outcome(
        422, Text("pending_id 不能是转账本身", "pending_id cannot be the transfer itself")
    ),
    "transfer.debit_account_id_must_not_be_empty": Outcome(
        422, Text("缺少借方账户", "The debit account is missing")
    ),
    "transfer.credit_account_id_must_not_be_empty": Outcome(
        422, Text("缺少贷方账户", "The credit account is missing")
    ),
    "transfer.accounts_must_be_different": Outcome(
        422, Text("借贷双方不能是同一账户", "Debit and credit accounts must differ")
    ),
    "transfer.timeout_reserved_for_pending_transfer": Outcome(
        422, Text("只有预留可设期限", "Only a pending transfer has a timeout")
    ),
    "transfer.timeout_must_be_positive": Outcome(
        422, Text("期限必须大于零", "The timeout must be positive")
    ),
    "transfer.debit_account_not_found": Outcome(
        422, Text("借方账户不存在", "The debit account does not exist")
    ),
    "transfer.credit_account_not_found": Outcome(
        422, Text("贷方账户不存在", "The credit account does not exist")
    ),
    "transfer.accounts_must_have_the_same_ledger": Outcome(
        422, Text("借贷双方须属同一账本", "Both accounts must be in the same ledger")
    ),
    "transfer.ledger_must_match_accounts": Outcome(
        422, Text("转账账本须与账户账本一致", "The transfer's ledger must be the accounts'")
    ),
    "transfer.requires_approval": Outcome(
        403,
        Text(
            "该账户付款须经支付指令复核（制单与审批分离）",
            "Payments out of this account need an approved payment order",
        ),
    ),
    "transfer.overflows_debits_pending": Outcome(
        422, Text("借方预留合计将溢出", "The debit account's pending debits would overflow")
    ),
    "transfer.overflows_credits_pending": Outcome(
        422, Text("贷方预留合计将溢出", "The credit account's pending credits would overflow")
    ),
    "transfer.overflows_debits_posted": Outcome(
        422, Text("借方已入账合计将溢出", "The debit account's posted debits would overflow")
    ),
    "transfer.overflows_credits_posted": Outcome(
        422, Text("贷方已入账合计将溢出", "The credit account's posted credits would overflow")
    ),
    "transfer.overflows_debits": Outcome(
        422, Text("借方合计将溢出", "The debit account's debits would overflow")
    ),
    "transfer.overflows_credits": Outcome(
        422, Text("贷方合计将溢出", "The credit account's credits would overflow")
    ),
    "transfer.exceeds_credits": Outcome(
        409, Text("借方账户余额不足", "The debit account's debits would exceed its credits")
    ),
    "transfer.exceeds_debits": Outcome(
        409, Text("贷方账户额度不足", "The credit account's credits would exceed its debits")
    ),
    "transfer.pending_transfer_not_found": Outcome(
        422, Text("预留不存在", "The pending transfer does not exist")
    ),
    "transfer.pending_transfer_not_pending": Outcome(
        422, Text("所指转账不是预留", "The transfer named is not a pending transfer")
    ),
    "transfer.pending_transfer_has_different_debit_account": Outcome(
        422, Text("借方账户与预留不符", "The debit account differs from the pending transfer's")
    ),
    "transfer.pending_transfer_has_different_credit_account": Outcome(
        422, Text("贷方账户与预留不符", "The credit account differs from the pending transfer's")
    ),
    "transfer.pending_transfer_has_different_ledger": Outcome(
        422, Text("账本与预留不符", "The ledger differs from the pending transfer's")
    ),
    "transfer.pending_transfer_has_different_amount": Outcome(
        422, Text("撤销金额须为 0 或预留全额", "A void's amount must be 0 or the whole hold")
    ),
    "transfer.exceeds_pending_transfer_amount": Outcome(
        422, Text("入账金额超过预留金额", "The amount exceeds the pending amount")
    ),
    "transfer.pending_transfer_already_posted": Outcome(
        409, Text("预留已入账", "The pending transfer was already posted")
    ),
    "transfer.pending_transfer_already_voided": Outcome(
        409, Text("预留已撤销", "The pending transfer was already voided")
    ),
    "transfer.pending_transfer_expired": Outcome(
        409, Text("预留已过期", "The pending transfer has expired")
    ),
    "transfer.linked_event_failed": Outcome(
        409, Text("同一关联链中的其他转账失败", "Another transfer of its linked chain failed")
    ),
    "transfer.linked_event_chain_open": Outcome(
        422, Text("批次以未闭合的关联链结尾", "The batch ends inside a linked chain")
    ),
}

UNKNOWN = Outcome(409, Text("转账被拒绝", "Transfer refused"))


def outcome(code: str) -> Outcome:
    return OUTCOMES.get(code, UNKNOWN)


def _refusal(code: str, found: Outcome) -> type[TransferRefused]:
    name = "Refused_" + code.removeprefix("transfer.")
    return type(
        name, (TransferRefused,), {"code": code, "status": found.status, "title": found.title}
    )


REFUSALS: dict[str, type[TransferRefused]] = {
    code: _refusal(code, found) for code, found in OUTCOMES.items() if code not in (CREATED, EXISTS)
}


def refusal(code: str) -> TransferRefused:
    """The error to raise when a single transfer was refused with `code`."""
    error_type = REFUSALS.get(code) or _refusal(code, UNKNOWN)
    return error_type()

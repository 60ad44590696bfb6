"""Errors of innovation vouchers, each with its status and stable code."""

from __future__ import annotations

from shared.errors import AppError, Conflict, Forbidden, NotFound, Text


class Unprocessable(AppError):
    status = 422
    code = "voucher.unprocessable"
    title = Text("请求无法处理", "Unprocessable request")


class ProgramNotFound(NotFound):
    code = "voucher.program_not_found"
    title = Text("创新券计划不存在", "Voucher program not found")


class ProgramExistsDifferent(Conflict):
    code = "voucher.program_exists_different"
    title = Text(
        "该编号或代码已用于另一个不同的创新券计划",
        "This id or code is taken by a different voucher program",
    )


class UnknownProgram(Unprocessable):
    code = "voucher.unknown_program"
    title = Text(
        "未知的科技计划代码：创新券计划须由已设立的科技计划管理",
        "Unknown program code: a voucher scheme is run by an existing program",
    )


class NotSchemeManager(Forbidden):
    code = "voucher.not_scheme_manager"
    title = Text(
        "仅创新券所属计划的管理人员可审核或暂停服务机构",
        "Only the managers of a program running a voucher scheme admit or suspend providers",
    )


class ProviderNotFound(NotFound):
    code = "voucher.provider_not_found"
    title = Text("服务机构不存在", "Provider not found")


class ProviderExistsDifferent(Conflict):
    code = "voucher.provider_exists_different"
    title = Text(
        "该机构已以不同内容登记为服务机构",
        "This organization is already registered as a provider, differently",
    )


class ProviderInvalidTransition(Conflict):
    code = "voucher.provider_invalid_transition"
    title = Text("服务机构当前状态不允许此操作", "The provider's state does not allow this")


class ProviderNotAccepting(Conflict):
    code = "voucher.provider_not_accepting"
    title = Text(
        "该服务机构目前不能受理创新券（未通过审核、公示期未满或已暂停）",
        "This provider does not accept vouchers now (not approved, in publicity or suspended)",
    )


class EnterpriseNotFound(NotFound):
    code = "voucher.enterprise_not_found"
    title = Text("企业未登记", "Enterprise not registered")


class EnterpriseExistsDifferent(Conflict):
    code = "voucher.enterprise_exists_different"
    title = Text(
        "该企业已以不同内容登记", "This organization is already registered as an enterprise"
    )


class OrganizationRequired(Forbidden):
    code = "voucher.organization_required"
    title = Text("需以所属机构身份操作", "Only a user of a registered organization may do this")


class OrganizationUnknown(Unprocessable):
    code = "voucher.organization_unknown"
    title = Text("机构目录中没有该机构", "The organization is not in the directory")


class CreditIneligible(Forbidden):
    code = "voucher.credit_ineligible"
    title = Text("信用状况不允许使用创新券", "The credit record does not allow vouchers now")


class CapExceeded(Conflict):
    code = "voucher.cap_exceeded"
    title = Text(
        "超出同一实际控制人名下企业的年度额度",
        "The annual cap of the actual controller's group would be exceeded",
    )


class PoolExhausted(Conflict):
    code = "voucher.pool_exhausted"
    title = Text("创新券计划资金不足", "The program's voucher pool cannot cover this")


class VoucherNotFound(NotFound):
    code = "voucher.not_found"
    title = Text("创新券不存在", "Voucher not found")


class VoucherExistsDifferent(Conflict):
    code = "voucher.exists_different"
    title = Text("该编号已用于另一张不同的创新券", "This id is taken by a different voucher")


class VoucherNotValid(Conflict):
    code = "voucher.not_valid"
    title = Text("创新券已过期或已作废", "The voucher has expired or was cancelled")


class InsufficientBalance(Conflict):
    code = "voucher.insufficient_balance"
    title = Text("创新券余额不足", "The voucher's remaining value cannot cover this")


class OrderNotFound(NotFound):
    code = "voucher.order_not_found"
    title = Text("订单不存在", "Order not found")


class OrderExistsDifferent(Conflict):
    code = "voucher.order_exists_different"
    title = Text("该编号已用于另一个不同的订单", "This id is taken by a different order")


class OrderInvalidTransition(Conflict):
    code = "voucher.order_invalid_transition"
    title = Text("订单当前状态不允许此操作", "The order's state does not allow this")


class UnknownService(Unprocessable):
    code = "voucher.unknown_service"
    title = Text("该服务机构未登记此项服务", "The provider did not register this service")


class CategoryIneligible(Unprocessable):
    code = "voucher.category_ineligible"
    title = Text("该服务类别不在本计划支持范围内", "This service category is not in the program")


class ShareExceeded(Unprocessable):
    code = "voucher.share_exceeded"
    title = Text(
        "创新券抵扣金额超过合同金额的规定比例",
        "The voucher part exceeds the program's share of the contract",
    )


class RelatedParties(Conflict):
    code = "voucher.related_parties"
    title = Text(
        "服务机构与企业存在关联关系，不得使用创新券",
        "Provider and enterprise are related parties",
    )


class InvoiceReused(Conflict):
    code = "voucher.invoice_reused"
    title = Text("该发票号码已被使用", "This invoice number was already used")


class InvoiceAmountMismatch(Unprocessable):
    code = "voucher.invoice_amount_mismatch"
    title = Text("发票金额须等于合同金额", "The invoice amount must equal the contract amount")


class RedemptionExistsDifferent(Conflict):
    code = "voucher.redemption_exists_different"
    title = Text(
        "该订单已提交内容不同的兑付申请", "A different redemption was filed for this order"
    )


class ApproverIsProvider(Forbidden):
    code = "voucher.approver_is_provider"
    title = Text("兑付审核人不能是服务机构人员", "The provider's own staff cannot approve")

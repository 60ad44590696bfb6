from __future__ import annotations

from shared.errors import AppError, Forbidden, Text, TooManyRequests


class WrongPassword(Forbidden):
    code = "account.wrong_password"
    title = Text("当前密码不正确", "The current password is not correct")


class InvalidAccountToken(AppError):
    """Unknown, expired, used or voided: one answer for all, so none is told apart."""

    status = 400
    code = "account.invalid_token"
    title = Text("链接无效、已过期或已使用", "This link is invalid, expired or already used")


class AccountRequestsThrottled(TooManyRequests):
    code = "account.throttled"
    title = Text(
        "来自该地址的请求过多，请稍后再试", "Too many requests from this address; try later"
    )

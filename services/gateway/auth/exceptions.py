from __future__ import annotations

from shared.errors import AppError, ServiceUnavailable, Text, TooManyRequests, Unauthorized


class InvalidCredentials(Unauthorized):
    code = "auth.invalid_credentials"
    title = Text("用户名或密码错误", "Incorrect username or password")


class InvalidClient(Unauthorized):
    code = "auth.invalid_client"
    title = Text("客户端凭证无效", "Invalid client credentials")


class InvalidRefreshToken(Unauthorized):
    code = "auth.invalid_refresh_token"
    title = Text("刷新令牌无效、已过期或已被撤销", "Refresh token invalid, expired or revoked")


class LoginThrottled(TooManyRequests):
    code = "auth.login_throttled"
    title = Text("登录失败次数过多，请稍后再试", "Too many failed logins; try again later")


class UnsupportedGrant(AppError):
    status = 400
    code = "auth.unsupported_grant_type"
    title = Text("不支持的授权类型", "Unsupported grant_type")


class FormRequired(AppError):
    status = 415
    code = "auth.form_required"
    title = Text(
        "此接口只接受表单（application/x-www-form-urlencoded）",
        "This endpoint takes a form (application/x-www-form-urlencoded)",
    )


class LoginBusy(ServiceUnavailable):
    code = "auth.busy"
    title = Text("同时登录的人过多，请稍后重试", "Too many logins at once; try again shortly")

"""Errors of the notify service, each with its status and stable code."""

from __future__ import annotations

from shared.errors import AppError, Conflict, Forbidden, NotFound, Text


class NotificationNotFound(NotFound):
    code = "notify.notification_not_found"
    title = Text("通知不存在", "Notification not found")


class NotFormal(Conflict):
    code = "notify.not_formal"
    title = Text("只有正式通知需要确认收悉", "Only formal notices are acknowledged")


class MandatoryCategory(AppError):
    status = 422
    code = "notify.mandatory_category"
    title = Text("该类通知不可关闭", "This category cannot be switched off")


class UnknownCategory(AppError):
    status = 422
    code = "notify.unknown_category"
    title = Text("通知类别不存在", "Unknown notification category")


class NoAddress(AppError):
    status = 422
    code = "notify.no_address"
    title = Text("该用户没有可用的邮箱地址", "The user has no mail address")


class NotAPerson(Forbidden):
    code = "notify.not_a_person"
    title = Text("只有个人用户有通知", "Only people have notifications")


class NotTheGateway(Forbidden):
    code = "notify.gateway_only"
    title = Text("只有网关可以发送直接消息", "Only the gateway sends direct messages")

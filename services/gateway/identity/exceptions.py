from __future__ import annotations

from shared.errors import AppError, Conflict, NotFound, Text


class OrganizationNotFound(NotFound):
    code = "organization.not_found"
    title = Text("机构不存在", "Organization not found")


class UserNotFound(NotFound):
    code = "user.not_found"
    title = Text("用户不存在", "User not found")


class CreditCodeTaken(Conflict):
    code = "organization.credit_code_taken"
    title = Text("该统一社会信用代码已登记", "An organization with this credit code exists")


class UsernameTaken(Conflict):
    code = "user.username_taken"
    title = Text("用户名已被使用", "Username already taken")


class EmailTaken(Conflict):
    code = "user.email_taken"
    title = Text("该电子邮件地址已被其他账户使用", "This e-mail address belongs to another account")


class RoleNeedsOrganization(AppError):
    status = 422
    code = "user.role_needs_organization"
    title = Text("该角色需要所属机构", "This role requires an organization")


class LastAdmin(Conflict):
    code = "user.last_admin"
    title = Text(
        "不能移除最后一位有效的管理员", "The last active admin cannot be removed or deactivated"
    )

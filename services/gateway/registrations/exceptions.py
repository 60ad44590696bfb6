from __future__ import annotations

from shared.errors import Conflict, NotFound, Text


class RequestNotFound(NotFound):
    code = "organization_request.not_found"
    title = Text("注册申请不存在", "Registration request not found")


class RequestDecided(Conflict):
    code = "organization_request.decided"
    title = Text("该注册申请已处理", "This registration request was decided already")

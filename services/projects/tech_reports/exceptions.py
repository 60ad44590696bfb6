"""Errors of science and technology reports (科技报告)."""

from __future__ import annotations

from shared.errors import AppError, Conflict, NotFound, Text


class TechReportNotFound(NotFound):
    """Also said of a report whose abstract is still under embargo, to the public."""

    code = "tech_report.not_found"
    title = Text("科技报告不存在", "Science and technology report not found")


class TechReportInvalid(AppError):
    status = 422
    code = "tech_report.invalid"
    title = Text("科技报告信息不符合要求", "The report does not meet the rules")


class TechReportExists(Conflict):
    code = "tech_report.duplicate"
    title = Text(
        "该项目已提交同类科技报告（最终报告一份，年度报告每年一份）",
        "The project has deposited this report already (one final, one annual per year)",
    )


class TechReportDeposited(Conflict):
    code = "tech_report.deposited"
    title = Text("科技报告已提交，不能再修改", "The report is deposited: it cannot change")

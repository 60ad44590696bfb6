"""What each kind of document says, laid out from its recorded inputs (plain JSON)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.projects.documents.pdf import Field, Heading, Layout, Paragraph, Table
from services.projects.models.documents import DocumentKind

BUDGET_LABELS = {
    "equipment": "设备费",
    "business": "业务费",
    "labour": "劳务费",
    "indirect": "间接费用",
}
TRANCHE_TRIGGERS = {
    "signing": "任务书签署后",
    "midterm": "中期检查通过后",
    "acceptance": "验收通过后",
}
VERDICTS = {"passed": "通过验收", "conditional": "有条件通过验收"}


def yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d} 元"


def _project_fields(project: dict[str, Any]) -> list[Field]:
    return [
        Field("项目编号", project["number"]),
        Field("项目名称", project["title"]),
        Field("计划类别", project["program"]),
        Field("承担单位", project["organization"]),
        Field("项目负责人", project["pi"]),
        Field("批准经费", yuan(project["approved_budget_fen"])),
    ]


def _task_book(inputs: dict[str, Any]) -> Layout:
    project = inputs["project"]
    budget = inputs["budget"]
    return Layout(
        "甘肃省科技计划项目任务书",
        [
            *_project_fields(project),
            Field("执行期", f"{project['starts_on']} 至 {project['ends_on']}"),
            Heading("一、经费预算"),
            Table(
                [("科目", 0.5), ("金额", 0.5)],
                [
                    *(
                        [label, yuan(budget[k])]
                        for k, label in BUDGET_LABELS.items()
                        if k in budget
                    ),
                    ["合计", yuan(sum(budget.values()))],
                ],
            ),
            Heading("二、拨款计划"),
            Table(
                [("批次", 0.4), ("拨付条件", 0.3), ("金额", 0.3)],
                [
                    [t["name"], TRANCHE_TRIGGERS.get(t["on"], t["on"]), yuan(t["amount_fen"])]
                    for t in inputs["tranches"]
                ],
            ),
            Heading("三、进度安排"),
            Table(
                [("任务", 0.7), ("完成时间", 0.3)],
                [[m["name"], m["due"]] for m in inputs["milestones"]],
            ),
            Heading("四、考核指标"),
            Table(
                [("指标", 0.6), ("目标", 0.2), ("单位", 0.2)],
                [[i["name"], str(i["target"]), i.get("unit") or ""] for i in inputs["indicators"]],
            ),
            Heading("五、签署"),
            Field("承担单位签署日期", inputs["signed"]["organization"]),
            Field("管理机构签署日期", inputs["signed"]["agency"]),
        ],
    )


def _approval_notice(inputs: dict[str, Any]) -> Layout:
    project = inputs["project"]
    return Layout(
        "甘肃省科技计划项目立项通知书",
        [
            Paragraph(f"{project['organization']}："),
            Paragraph(
                f"经专家评审、管理机构决策并向社会公示（{inputs['notice_from']} 至 "
                f"{inputs['notice_to']}），你单位申报的项目已批准立项。请按要求签订任务书，"
                "落实配套条件，认真组织实施。"
            ),
            *_project_fields(project),
            Field("立项决定日期", inputs["decided_on"]),
        ],
    )


def _acceptance_certificate(inputs: dict[str, Any]) -> Layout:
    project = inputs["project"]
    blocks = [
        *_project_fields(project),
        Field("执行期", f"{project['starts_on']} 至 {project['ends_on']}"),
        Field("验收结论", VERDICTS.get(inputs["verdict"], inputs["verdict"])),
        Field("验收日期", inputs["accepted_on"]),
    ]
    if inputs.get("conditions"):
        blocks.append(Field("验收条件", inputs["conditions"]))
    if inputs.get("comment"):
        blocks.append(Field("验收意见", inputs["comment"]))
    return Layout("甘肃省科技计划项目验收证书", blocks)


def _public_notice(inputs: dict[str, Any]) -> Layout:
    call = inputs["call"]
    return Layout(
        "甘肃省科技计划拟立项项目公示",
        [
            Paragraph(
                f"根据{call['program']}“{call['title']}”的评审结果，现将拟立项项目予以公示。"
                "公示期内，任何单位和个人如有异议，可实名提出。"
            ),
            Table(
                [
                    ("项目编号", 0.17),
                    ("项目名称", 0.3),
                    ("承担单位", 0.2),
                    ("负责人", 0.1),
                    ("经费", 0.13),
                    ("公示期", 0.1),
                ],
                [
                    [
                        p["number"],
                        p["title"],
                        p["organization"],
                        p["pi"],
                        yuan(p["approved_budget_fen"]),
                        f"{p['notice_from']}至{p['notice_to']}",
                    ]
                    for p in inputs["projects"]
                ],
            ),
        ],
    )


LAYOUTS: dict[str, Callable[[dict[str, Any]], Layout]] = {
    DocumentKind.task_book: _task_book,
    DocumentKind.approval_notice: _approval_notice,
    DocumentKind.acceptance_certificate: _acceptance_certificate,
    DocumentKind.public_notice: _public_notice,
}


def layout(kind: str, inputs: dict[str, Any]) -> Layout:
    return LAYOUTS[kind](inputs)

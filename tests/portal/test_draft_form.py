"""The draft editor's form: amounts typed in yuan saved exactly in fen, blank rows left out, and
each of the API's messages shown by the field, and the row on the page, it concerns."""

from __future__ import annotations

from starlette.datastructures import FormData, UploadFile

from services.portal.api import ApiProblem
from services.portal.draft_form import DraftForm
from services.portal.i18n import translator

t = translator("zh")
ME = "0193a5c0-0000-7000-8000-00000000abcd"


def _form(**extra: list[str] | str) -> DraftForm:
    fields: list[tuple[str, str | UploadFile]] = [
        ("title", "旱作农业节水技术"),
        ("abstract", ""),
        ("keywords", "旱作农业、节水， 覆膜"),
        ("subject_codes", "210.2010 210"),
        ("budget.equipment", "1,000.10"),
        ("budget.business", "0.01"),
        ("budget.labour", ""),
        ("budget.indirect", "12"),
        ("base_version", "3"),
        ("kept", '{"avoid": [], "attachments": [{"id": "a1", "kind": "feasibility_report"}]}'),
    ]
    for name, values in extra.items():
        for value in [values] if isinstance(values, str) else values:
            fields.append((name.replace("__", "."), value))
    return DraftForm.from_form(FormData(fields))


def test_amounts_in_yuan_become_exact_fen_and_lists_are_split() -> None:
    content, unreadable = _form().content(t)
    assert unreadable == {}
    assert content["budget"] == {
        "equipment": 100_010,
        "business": 1,
        "labour": 0,
        "indirect": 1_200,
    }
    assert content["keywords"] == ["旱作农业", "节水", "覆膜"]
    assert content["subject_codes"] == ["210.2010", "210"]
    assert content["attachments"] == [{"id": "a1", "kind": "feasibility_report"}]


def test_an_amount_finer_than_the_fen_is_not_sent() -> None:
    form = _form()
    form.values["budget.labour"] = "10.005"
    _, unreadable = form.content(t)
    assert list(unreadable) == ["budget.labour"]


def test_blank_rows_are_left_out_and_messages_find_their_row_on_the_page() -> None:
    form = _form(
        team__user_id=[ME, "", "not-an-id"],
        team__role=["负责人", "", "骨干"],
        team__share=["60", "", "40"],
    )
    content, _ = form.content(t)
    assert content["team"] == [
        {"user_id": ME, "role": "负责人", "share": 60},
        {"user_id": "not-an-id", "role": "骨干", "share": 40},
    ]
    problem = ApiProblem(
        422,
        {
            "code": "request.invalid",
            "errors": [
                {"loc": ["body", "content", "team", 1, "user_id"], "msg": "应为有效的 UUID"},
                {"loc": ["body", "content", "title"], "msg": "至少应有 2 个字符"},
                {"loc": ["body", "content", "budget", "indirect"], "msg": "应大于或等于 0"},
            ],
        },
    )
    # The second row sent is the third on the page (the blank one was not sent).
    assert form.errors_of(problem) == {
        "team.2.user_id": "应为有效的 UUID",
        "title": "至少应有 2 个字符",
        "budget.indirect": "应大于或等于 0",
    }


def test_domain_errors_go_to_the_field_they_concern() -> None:
    form = _form()
    form.content(t)
    indirect = ApiProblem(
        422,
        {"code": "budget.indirect_over_limit", "title": "间接费用超过核定比例", "detail": "超了"},
    )
    assert form.errors_of(indirect) == {"budget.indirect": "超了"}
    incomplete = ApiProblem(
        422,
        {
            "code": "application.incomplete",
            "title": "申报书内容不完整，不能提交",
            "missing": ["abstract", "milestones"],
        },
    )
    assert form.errors_of(incomplete) == {
        "abstract": "申报书内容不完整，不能提交",
        "milestones": "申报书内容不完整，不能提交",
    }
    stale = ApiProblem(409, {"code": "application.stale_version", "title": "已被更新"})
    assert form.errors_of(stale) == {"content": "已被更新"}

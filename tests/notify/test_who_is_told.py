"""Who each event tells, from notify's directory replica; every template reads in both
languages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.notify.catalog import CATEGORIES, TEMPLATES
from services.notify.rendering import FOLDER, render
from shared.auth.roles import Role
from shared.contracts.credit import (
    CreditAppealDecidedV1,
    CreditObjectionDecidedV1,
    CreditRecordNotifiedV1,
)
from shared.contracts.directory import UserContactChangedV1, UserCreatedV1
from shared.contracts.experts import ExpertAdmittedV1, ExpertApplicationDeclinedV1
from shared.contracts.funds import PaymentOrderApprovedV1, PaymentOrderAwaitingApprovalV1
from shared.contracts.projects import (
    CreditOrganization,
    CreditPerson,
    ObjectionDecidedV1,
    ObjectionDecidedV2,
    ProjectOrganization,
    ProjectPerson,
    ProjectTerminatedV1,
)
from shared.contracts.vocabulary import EligibilityAction, TerminationCause
from shared.ids import uuid7
from tests.notify.conftest import Notify, apply, approved, text_of

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


async def _inbox(notify: Notify, who: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await notify.call("GET", "/v1/me/notifications", who)).json()[
        "items"
    ]
    return items


async def test_a_new_account_is_told_and_its_address_comes_from_the_gateway(
    notify: Notify,
) -> None:
    user_id = uuid7()
    await apply(
        notify,
        "gateway",
        UserContactChangedV1(id=user_id, email="zhang.wei@example.org", email_verified=True),
    )
    await apply(
        notify,
        "gateway",
        UserCreatedV1(
            id=user_id,
            username="zhang.wei",
            display_name="张伟",
            org_id=None,
            roles=["applicant"],
            is_active=True,
        ),
    )
    me = await notify.token(str(user_id), ["applicant"])
    listed = await notify.client.get(
        "/v1/me/notifications", headers={"Authorization": f"Bearer {me}"}
    )
    [created] = listed.json()["items"]
    assert created["subject"] == "您的 SciPlan 账户已开通"
    assert created["category"] == "account"
    assert await notify.deliver() == 1
    [mail] = notify.smtp.mailbox.received
    assert mail["To"] == "zhang.wei@example.org"
    assert text_of(mail).startswith("张伟，您好：")
    assert "zhang.wei" in text_of(mail)


async def test_an_address_that_comes_after_the_account_mails_its_first_notice(
    notify: Notify,
) -> None:
    # The gateway publishes the new user before the user's address.
    user_id = uuid7()
    await apply(
        notify,
        "gateway",
        UserCreatedV1(
            id=user_id,
            username="li.na",
            display_name="李娜",
            org_id=None,
            roles=["applicant"],
            is_active=True,
        ),
    )
    assert await notify.deliver() == 0
    contact = UserContactChangedV1(id=user_id, email="li.na@example.org")
    await apply(notify, "gateway", contact)
    await apply(notify, "gateway", contact)  # a second address event mails nothing twice
    assert await notify.deliver() == 1
    [mail] = notify.smtp.mailbox.received
    assert (mail["To"], mail["Subject"]) == ("li.na@example.org", "您的 SciPlan 账户已开通")


async def test_a_termination_tells_the_pi_and_the_organizations_admins(notify: Notify) -> None:
    org = uuid7()
    pi = await notify.person(Role.applicant, org_id=org)
    admin = await notify.person(Role.org_admin, org_id=org)
    elsewhere = await notify.person(Role.org_admin, org_id=uuid7())
    await apply(
        notify,
        "projects",
        ProjectTerminatedV1(
            project_id=uuid7(),
            project_number="GS2026-0002",
            cause=next(iter(TerminationCause)),
            at_fault=False,
            reason="研究条件发生重大变化",
            managing_agency="省科技厅",
            pi=CreditPerson(name="王芳", gateway_user_id=pi.id),
            organization=CreditOrganization(
                name="兰州某研究所", gateway_org_id=org, credit_code=None
            ),
        ),
    )
    for told in (pi, admin):
        [notice] = await _inbox(notify, told)
        assert notice["formal"] is True
        assert notice["mandatory"] is True
        assert notice["subject"] == "【正式通知】项目终止：GS2026-0002"
    assert await _inbox(notify, elsewhere) == []


async def test_a_credit_record_notice_is_formal_and_reaches_an_organizations_admins(
    notify: Notify,
) -> None:
    org = uuid7()
    admin = await notify.person(Role.org_admin, org_id=org)
    record = uuid7()
    about = {
        "record_id": record,
        "subject_id": uuid7(),
        "subject_kind": "organization",
        "subject_name": "兰州某研究所",
        "gateway_user_id": None,
        "gateway_org_id": org,
        "rule_code": "FAKE_MATERIALS",
        "rule_version": 1,
        "rule_description_zh": "提供虚假申报材料",
        "rule_description_en": "False application materials",
        "tier": "serious",
        "handling_unit": "省科技厅监督处",
    }
    await apply(
        notify,
        "credit",
        CreditRecordNotifiedV1(
            **about,
            facts="合作单位证明系伪造。",
            legal_basis="科研失信行为调查处理规则第七条",
            score_effect=-20,
            restrictions=[EligibilityAction.apply],
            restriction_until=date(2029, 3, 1),
            restriction_permanent=False,
            effective_from=date(2026, 3, 2),
            valid_until=date(2029, 3, 1),
            objection_window_working_days=10,
            notified_at=NOW,
        ),
    )
    [notice] = await _inbox(notify, admin)
    assert (notice["formal"], notice["mandatory"]) == (True, True)
    assert (notice["about_type"], notice["about_id"]) == ("credit_record", str(record))
    opened = await notify.call("POST", f"/v1/me/notifications/{notice['id']}/open", admin)
    assert "10 个工作日" in opened.json()["body"]

    # The decisions on an objection and an appeal are formal notices about the record too, but
    # not its notice: credit must not take their delivery for the notice's.
    await apply(
        notify,
        "credit",
        CreditObjectionDecidedV1(
            **about, outcome="rejected", reason="证据不足", appeal_deadline=None, decided_at=NOW
        ),
    )
    await apply(
        notify,
        "credit",
        CreditAppealDecidedV1(**about, outcome="rejected", reason="维持原决定", decided_at=NOW),
    )
    told = {n["template"]: (n["about_type"], n["about_id"]) for n in await _inbox(notify, admin)}
    assert told == {
        "credit_record_notified": ("credit_record", str(record)),
        "credit_objection_decided": ("credit_objection", str(record)),
        "credit_appeal_decided": ("credit_appeal", str(record)),
    }


async def test_an_objection_decided_tells_the_pi_and_an_objector_with_an_account(
    notify: Notify,
) -> None:
    pi, objector = await notify.person(Role.applicant), await notify.person(Role.applicant)

    def decided(objector_id: Any, contract: Any = ObjectionDecidedV2) -> Any:
        return contract(
            project_id=uuid7(),
            project_number="2026-ZDYF-0007",
            objection_id=uuid7(),
            title="祁连山冰川消融监测",
            org=ProjectOrganization(id=uuid7(), name="兰州大学", credit_code=None),
            pi=ProjectPerson(id=pi.id, name="王芳"),
            objector_id=objector_id,
            outcome="dismissed",
            resolution="经核查，异议不成立",
            project_cancelled=False,
            decided_at=NOW,
        )

    # One lodged without an account: the PI alone (the agency reaches the objector itself).
    await apply(notify, "projects", decided(None))
    assert [n["template"] for n in await _inbox(notify, pi)] == ["objection_decided"]
    # One filed under an account (and one published as V1, before objections without one).
    await apply(notify, "projects", decided(objector.id))
    await apply(notify, "projects", decided(objector.id, ObjectionDecidedV1))
    assert len(await _inbox(notify, objector)) == 2
    assert len(await _inbox(notify, pi)) == 3


async def test_an_approval_told_twice_by_projects_is_one_notice(notify: Notify) -> None:
    pi = await notify.person(Role.applicant)
    event = approved(pi.id)
    await apply(notify, "projects", event)
    await apply(notify, "projects", approved(pi.id, application_id=event.application_id))
    assert len(await _inbox(notify, pi)) == 1


async def test_an_application_to_the_expert_pool_is_answered_to_the_applicant_alone(
    notify: Notify,
) -> None:
    admitted, declined, manager = (
        await notify.person(Role.applicant),
        await notify.person(Role.applicant),
        await notify.person(Role.program_manager),
    )
    decided = {"decided_by": manager.id, "decided_at": NOW}
    await apply(
        notify,
        "projects",
        ExpertAdmittedV1(
            application_id=uuid7(), user_id=admitted.id, reason="研究方向契合", **decided
        ),
    )
    await apply(
        notify,
        "projects",
        ExpertApplicationDeclinedV1(
            application_id=uuid7(), user_id=declined.id, reason="近五年无相关成果", **decided
        ),
    )
    [welcome] = await _inbox(notify, admitted)
    assert (welcome["template"], welcome["subject"]) == ("expert_admitted", "您已入选评审专家库")
    [refusal] = await _inbox(notify, declined)
    assert refusal["template"] == "expert_application_declined"
    assert "近五年无相关成果" in refusal["body"]
    assert await _inbox(notify, manager) == []


async def test_a_payment_order_to_approve_goes_to_the_other_finance_officers(
    notify: Notify,
) -> None:
    maker = await notify.person(Role.finance_officer)
    checker = await notify.person(Role.finance_officer)
    await apply(
        notify,
        "funds",
        PaymentOrderAwaitingApprovalV1(
            order_id=uuid7(),
            ledger="grants",
            program_code="NSF",
            amount_fen=1_250_000,
            code="tranche",
            purpose="首笔拨款",
            maker_id=str(maker.id),
            payer_account_id=uuid7(),
            payer_account_name="省财政专户",
            payee_account_id=uuid7(),
            payee_account_name="兰州某研究所",
            org_id=None,
            made_at=NOW,
        ),
    )
    assert await _inbox(notify, maker) == []
    [told] = await _inbox(notify, checker)
    assert told["subject"] == "支付指令待审批：12500.00 元"


async def test_a_paid_order_is_told_to_the_organization_it_paid_and_to_its_maker(
    notify: Notify,
) -> None:
    org = uuid7()
    maker, checker = (
        await notify.person(Role.finance_officer),
        await notify.person(Role.finance_officer),
    )
    admin = await notify.person(Role.org_admin, org_id=org)
    elsewhere = await notify.person(Role.org_admin, org_id=uuid7())
    order_id = uuid7()
    await apply(
        notify,
        "funds",
        PaymentOrderAwaitingApprovalV1(
            order_id=order_id,
            ledger="grants",
            program_code="NSF",
            amount_fen=1_250_000,
            code="tranche",
            purpose="首笔拨款",
            maker_id=str(maker.id),
            payer_account_id=uuid7(),
            payer_account_name="省财政专户",
            payee_account_id=uuid7(),
            payee_account_name="兰州某研究所",
            org_id=org,
            made_at=NOW,
        ),
    )
    await apply(
        notify,
        "funds",
        PaymentOrderApprovedV1(
            order_id=order_id,
            ledger="grants",
            debit_account_id=uuid7(),
            credit_account_id=uuid7(),
            amount_fen=1_250_000,
            code="tranche",
            maker_id=str(maker.id),
            decided_by=str(checker.id),
            transfer_id=uuid7(),
        ),
    )
    for told in (admin, maker):
        assert [n["template"] for n in await _inbox(notify, told)] == ["payment_order_approved"]
    assert await _inbox(notify, elsewhere) == []


def _sample(name: str) -> dict[str, Any]:
    """Every variable a template may use, with a plausible value."""
    values: dict[str, Any] = {"display_name": "王芳", "passed": False, "project_cancelled": True}
    source = (FOLDER / "zh" / f"{name}.txt").read_text() + (
        FOLDER / "en" / f"{name}.txt"
    ).read_text()

    for variable in re.findall(r"{{\s*(\w+)", source) + re.findall(r"{%\s*if (\w+)", source):
        values.setdefault(variable, "x")
    return values


@pytest.mark.parametrize("name", sorted(TEMPLATES))
@pytest.mark.parametrize("locale", ["zh", "en"])
def test_every_template_reads_in_both_languages(name: str, locale: str) -> None:
    assert TEMPLATES[name].category in CATEGORIES
    subject, body = render(name, locale, _sample(name))
    assert subject
    assert "\n" not in subject
    assert body.strip()

"""Money across fiscal years through the gateway, as processes (docs/money.md): a grant in year
1, part of it spent, the year-end close carrying the rest into year 2, a drawdown in year 2
requested by the organization, approved by a finance officer and paid, and the final accounts
of both years.

On the shared stack, with a special fund of the test's own (its close sweeps no other test's
grants); the clock is moved across the new year and put back at the end.
"""

from __future__ import annotations

import secrets

import pytest

from tests.conftest import RunningStack
from tests.e2e.helpers import e2e_client
from tests.e2e.money_steps import (
    cast_for_money,
    close_year,
    contracted_project,
    drawdown,
    final_accounts,
    first_year,
    grant_of,
    money_fund,
    move_into_year,
    pay_first_tranche,
    spend,
)
from tests.e2e.story_steps import Story, new_id

pytestmark = pytest.mark.e2e

ENVELOPE = 1_000_000_000
BUDGET = 80_000_000  # first tranche 40,000,000 at signing; 30,000,000 and 10,000,000 owed
SPENT_Y1 = 15_000_000
DRAWN_Y2 = 10_000_000
SPENT_Y2 = 6_000_000


async def test_a_grant_carried_into_the_next_year_is_drawn_down_and_accounted_for(
    stack: RunningStack,
) -> None:
    assert stack.clock_file is not None
    code = "MY" + secrets.token_hex(3).upper()  # a fund of this run's own
    async with e2e_client() as client:
        story = Story(client=client, running=stack, clock_file=stack.clock_file)
        try:
            cast = await cast_for_money(story, code.lower(), 90_000 + secrets.randbelow(9_999))
            year = first_year(story)
            fund_id = await money_fund(story, cast, code, year, ENVELOPE)

            # Year 1: a project contracted, its first tranche paid, part of it spent.
            project = await contracted_project(story, cast, fund_id, year, BUDGET)
            project_id = project["project_id"]
            paid = await pay_first_tranche(story, cast, project_id)
            assert paid["released"] == BUDGET // 2
            await spend(story, cast, project_id, "business", SPENT_Y1)
            early = await story.call(
                "POST",
                "funds",
                "/year-end-closes",
                cast.fo,
                json={
                    "id": new_id(),
                    "program_code": code,
                    "year": year,
                },
            )
            assert (early.status_code, early.json()["code"]) == (409, "fiscal.year_not_over")

            # The year is over: the close carries the project's unspent money into year 2.
            move_into_year(story, year + 1)
            closed = await close_year(story, cast, code, year)
            assert (closed["rule"], closed["returned_fen"], closed["next_ledger"]) == (
                "carry_all",
                0,
                f"{code}-{year + 1}",
            )
            [line] = [ln for ln in closed["lines"] if ln["kind"] == "project"]
            unspent = BUDGET // 2 - SPENT_Y1
            assert (line["project_id"], line["unspent_fen"], line["carried_fen"]) == (
                project_id,
                unspent,
                unspent,
            )
            [program] = [ln for ln in closed["lines"] if ln["kind"] == "program"]
            owed = BUDGET - BUDGET // 2  # tranches not yet due stay for the grant
            assert program["carried_fen"] == ENVELOPE - BUDGET // 2 - owed
            shown = await story.ok("GET", "funds", f"/year-end-closes/{code}/{year}", cast.pm)
            assert shown["id"] == closed["id"]

            # Year 2: the organization draws part of it down, a finance officer pays it.
            drawn = await drawdown(story, cast, project_id, "business", DRAWN_Y2)
            assert (drawn["status"], drawn["amount_fen"]) == ("paid", DRAWN_Y2)
            await spend(story, cast, project_id, "business", SPENT_Y2)
            grant = await grant_of(story, project_id, cast.pi)
            assert grant["released"] == BUDGET // 2  # swept and drawn back: counted once

            # The final accounts of both years, as the PI and the fund's manager read them.
            y1 = await final_accounts(story, project_id, year, cast.pi)
            assert y1["closed"] is True
            assert {k: y1[k] for k in FIGURES} == {
                "opening_fen": 0,
                "received_fen": BUDGET // 2,
                "drawn_fen": 0,
                "spent_fen": SPENT_Y1,
                "returned_fen": 0,
                "recovered_fen": 0,
                "closing_fen": unspent,
                "carried_over_fen": unspent,
            }
            by_category = {c["category"]: c for c in y1["categories"]}
            assert by_category["business"]["spent_fen"] == SPENT_Y1
            assert sum(c["carried_over_fen"] for c in y1["categories"]) == unspent
            assert sum(c["received_fen"] for c in y1["categories"]) == BUDGET // 2

            y2 = await final_accounts(story, project_id, year + 1, cast.pm)
            assert y2["closed"] is False
            assert {k: y2[k] for k in FIGURES} == {
                "opening_fen": unspent,
                "received_fen": 0,
                "drawn_fen": DRAWN_Y2,
                "spent_fen": SPENT_Y2,
                "returned_fen": 0,
                "recovered_fen": 0,
                "closing_fen": unspent - SPENT_Y2,
                "carried_over_fen": None,
            }
            by_category = {c["category"]: c for c in y2["categories"]}
            assert (by_category["business"]["drawn_fen"], by_category["business"]["spent_fen"]) == (
                DRAWN_Y2,
                SPENT_Y2,
            )
        finally:
            stack.clock_file.write_text("0")


FIGURES = (
    "opening_fen",
    "received_fen",
    "drawn_fen",
    "spent_fen",
    "returned_fen",
    "recovered_fen",
    "closing_fen",
    "carried_over_fen",
)

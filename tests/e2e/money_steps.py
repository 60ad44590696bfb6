"""Money across years as a step of the story (tests/e2e/test_story_e2e.py), through the
gateway: the fiscal year ends, a finance officer sets the program's carry-over rule and closes
the year, and the unspent money is in the next year's program fund (docs/money.md)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from shared.clock import SHANGHAI
from tests.e2e.story_steps import Story, new_id


async def year_closed(
    story: Story, program_code: str, year: int, officer: str, overseer: str
) -> dict[str, Any]:
    """The clock moves into the next year; `officer` carries all the unspent money over and
    closes `year`: next year's program fund holds what this year's did not spend; `overseer`
    (the program's manager) reads the close. The close."""
    new_year = datetime.combine(date(year + 1, 1, 1), time(1), SHANGHAI)
    early = await story.call(
        "POST",
        "funds",
        "/year-end-closes",
        officer,
        json={"id": new_id(), "program_code": program_code, "year": year},
    )
    if story.now() < new_year:  # not before the year is over
        assert (early.status_code, early.json()["code"]) == (409, "fiscal.year_not_over")
        story.move_to(new_year)
    await story.ok(
        "PUT",
        "funds",
        f"/carry-over-rules/{program_code}",
        officer,
        json={"rule": "carry_all", "reason": "专项资金结转下年继续使用"},
    )
    close = {"id": new_id(), "program_code": program_code, "year": year}
    closed: dict[str, Any] = await story.ok(
        "POST", "funds", "/year-end-closes", officer, json=close
    )
    again = await story.call("POST", "funds", "/year-end-closes", officer, json=close)
    assert again.status_code == 200, again.text  # the same close, answered again
    assert again.json()["id"] == closed["id"]
    next_ledger = f"{program_code}-{year + 1}"
    assert closed["next_ledger"] == next_ledger, closed
    [program] = [line for line in closed["lines"] if line["kind"] == "program"]
    assert program["carried_fen"] == program["unspent_fen"] > 0, program
    assert (closed["carried_fen"], closed["returned_fen"]) == (program["unspent_fen"], 0), closed
    carried_in = [t for t in program["transfers"] if t["code"] == "carry_over_in"]
    assert [(t["ledger"], t["amount_fen"]) for t in carried_in] == [
        (next_ledger, program["unspent_fen"])
    ], program
    funds = await story.ok(
        "GET",
        "funds",
        "/accounts",
        officer,
        params={"ledger": next_ledger, "code": "program_fund"},
    )
    [fund] = funds["items"]
    assert fund["credits_posted"] - fund["debits_posted"] == program["unspent_fen"], fund
    read = await story.ok("GET", "funds", f"/year-end-closes/{program_code}/{year}", overseer)
    assert read["id"] == closed["id"]
    return closed

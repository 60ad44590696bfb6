"""The API tour (docs/tour.md), executed as written, so that it cannot go stale.

The ```sh blocks between `<!-- tour:begin -->` and `<!-- tour:end -->` in docs/tour.md are joined
into one bash script under `set -euo pipefail`; here it is checked without a stack. It runs, with
bash, against the stack that holds the demo data (`test_seed_demo_e2e.py`, with `run_tour` and
`check_the_tour_outcome` from here): after the demo, then a second time, as a reader would.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.credit_code import is_valid_credit_code
from tests.conftest import RunningStack, bearer

pytestmark = pytest.mark.e2e

TOUR = Path(__file__).resolve().parents[2] / "docs" / "tour.md"
BEGIN, END = "<!-- tour:begin -->", "<!-- tour:end -->"
PASSWORD = "tour-password-2026"  # what the tour gives every person it creates (PW)
DAYS_ADVANCED = 1 + 15 + 8  # public notice, credit objection window, provider publicity


def tour_blocks(page: str) -> list[str]:
    """The tour's shell blocks, in order."""
    assert (page.count(BEGIN), page.count(END)) == (1, 1), "the tour markers are missing"
    section = page.split(BEGIN, 1)[1].split(END, 1)[0]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)


def tour_script(page: str) -> str:
    return "set -euo pipefail\n" + "\n".join(tour_blocks(page))


def test_the_tour_is_one_honest_script() -> None:
    """Every block is in the script; every HTTP call is curl, and every curl that is not a
    check (a `wait_for` predicate or an expected refusal, which say so) fails on an error."""
    page = TOUR.read_text(encoding="utf-8")
    blocks = tour_blocks(page)
    assert len(blocks) >= 10
    script = tour_script(page)
    assert "jq" not in re.findall(r"[\w-]+", script)
    assert "http " not in script  # no httpie either: curl only
    lenient = [
        line
        for line in script.splitlines()
        if re.search(r"\bcurl (?!--fail-with-body)", line)
        and not re.search(r"^\w+\(\) \{ \[|grep -x 4\d\d|pick code", line)
    ]
    assert lenient == []
    # The script parses as bash.
    checked = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert checked.returncode == 0, checked.stderr


def run_tools(commands: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The tour's two tool blocks and `commands`, without a stack."""
    tools = "\n".join(tour_blocks(TOUR.read_text(encoding="utf-8"))[:2])
    clean = {k: v for k, v in os.environ.items() if k != "SCIPLAN_TEST_CLOCK_FILE"}
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail\n{tools}\n{commands}"],
        cwd=tmp_path,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_tour_tools(tmp_path: Path) -> None:
    picked = run_tools(
        """echo '{"items": [{"id": "a", "ok": true}, {"id": "b", "ok": false}]}' > doc.json
        pick 'items.*.id' < doc.json
        pick items.1.ok < doc.json
        pick items.2.id < doc.json || echo missing""",
        tmp_path,
    )
    assert picked.returncode == 0, picked.stderr
    assert picked.stdout.splitlines() == ["a", "b", "false", "missing"]
    assert "pick: no items.2.id in" in picked.stderr
    # On a real stack, advance_days tells the reader to wait and stops the script.
    real = run_tools("advance_days 8\necho went on", tmp_path)
    assert real.returncode == 1
    assert "wait 8 days" in real.stderr
    assert "went on" not in real.stdout
    # On a test stack, it moves the clock file forward.
    clock = tmp_path / "clock"
    moved = run_tools(
        "advance_days 1\nadvance_days 15", tmp_path, SCIPLAN_TEST_CLOCK_FILE=str(clock)
    )
    assert moved.returncode == 0, moved.stderr
    assert float(clock.read_text()) == 16 * 86_400
    # Each run has its own tag (TOUR, or four random characters) and valid credit codes.
    codes = run_tools('echo "$TOUR $tour"; uscc 001; uscc 002', tmp_path, TOUR="AB12")
    assert codes.stdout.split() == ["AB12", "ab12", *codes.stdout.split()[2:]]
    assert all(is_valid_credit_code(code) for code in codes.stdout.split()[2:])
    assert len(set(codes.stdout.split()[2:])) == 2
    runs = {run_tools('echo "$TOUR"', tmp_path).stdout.strip() for _ in range(3)}
    assert len(runs) > 1
    assert all(re.fullmatch(r"[0-9A-F]{4}", run) for run in runs)


def run_tour(
    running: RunningStack, clock_file: Path, workdir: Path, run: str, blocks: int | None = None
) -> subprocess.CompletedProcess[str]:
    """The tour (or its first `blocks` blocks) as a reader runs it, with `TOUR` set to `run`:
    `GW` and `SCIPLAN_ADMIN_PASSWORD` as a reader sets them, and the stack's clock file for
    `advance_days`."""
    page = TOUR.read_text(encoding="utf-8")
    script = workdir / f"tour-{run}.sh"
    if blocks is None:
        script.write_text(tour_script(page), encoding="utf-8")
    else:
        script.write_text(
            "set -euo pipefail\n" + "\n".join(tour_blocks(page)[:blocks]), encoding="utf-8"
        )
    reader = workdir / f"reader-{run}"  # where a reader would paste the blocks
    reader.mkdir()
    env = {
        **os.environ,
        "GW": running.url,
        "SCIPLAN_ADMIN_PASSWORD": running.admin_password,
        "SCIPLAN_TEST_CLOCK_FILE": str(clock_file),
        "CLOSES_IN": "20",  # the first call closes in 20 s instead of a minute
        "TOUR": run,
    }
    done = subprocess.run(
        ["bash", str(script)], cwd=reader, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}"
    return done


def token(client: httpx.Client, url: str, username: str, password: str = PASSWORD) -> str:
    reply = client.post(f"{url}/auth/token", data={"username": username, "password": password})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


def get(client: httpx.Client, url: str, who: str, **params: Any) -> Any:
    reply = client.get(url, headers=bearer(who), params=params)
    assert reply.status_code == 200, reply.text
    return reply.json()


def check_the_tour_outcome(url: str, run: str) -> None:
    """A few facts the whole tour (run `run`) claims, read back through the API."""
    suffix = "." + run.lower()
    with httpx.Client(timeout=10) as client:
        manager = token(client, url, "pm.lbcx" + suffix)
        finance = token(client, url, "fo.zhou" + suffix)
        fund = next(
            p
            for p in get(client, f"{url}/api/projects/v1/programs", manager, limit=200)["items"]
            if p["code"] == f"LBCX{run}"
        )
        # One project accepted, the other terminated for misconduct.
        listed = get(client, f"{url}/api/projects/v1/projects", manager, program_id=fund["id"])
        assert sorted(p["status"] for p in listed["items"]) == ["accepted", "terminated"]
        # 刘洋's record went through notice to confirmation, and he could not apply again.
        banned = token(client, url, "pi.liu" + suffix)
        records = get(
            client,
            f"{url}/api/credit/v1/records",
            manager,
            purpose="核查 API 导览的结果",
            name="刘洋",
            rule_code="FABRICATION",
        )
        assert [r["status"] for r in records["items"]] == ["confirmed"]
        mine = get(client, f"{url}/api/projects/v1/applications", banned)
        again = next(a for a in mine["items"] if a["title"].endswith("（续）"))
        check = get(
            client, f"{url}/api/projects/v1/applications/{again['id']}/formal-check", banned
        )
        assert [r["rule"] for r in check["results"] if not r["passed"]] == ["credit.eligible"]
        # The fund paid two grants, saw ¥170,000 spent, and the ledger balances.
        [usage] = get(
            client,
            f"{url}/api/funds/v1/grants/execution",
            finance,
            program_code=f"LBCX{run}",
            year=2026,
        )["items"]
        assert (usage["grants"], usage["spent"]) == (2, 17_000_000)
        balance = get(client, f"{url}/api/funds/v1/reports/trial-balance", finance)
        assert balance["balanced"] is True
        # The voucher paid half of the lab's contract: ¥20,000 of ¥100,000 spent.
        enterprise = token(client, url, "ent.green" + suffix)
        vouchers = get(client, f"{url}/api/funds/v1/vouchers", enterprise)
        assert [(v["spent_fen"], v["available_fen"]) for v in vouchers["items"]] == [
            (2_000_000, 8_000_000)
        ]

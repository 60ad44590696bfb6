"""Finance officers: payment orders awaiting a second officer (maker-checker, which the funds
service enforces: its refusal is shown as it words it), grants and vouchers."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Form
from starlette.responses import Response

from services.portal.api import ApiProblem
from services.portal.people import Person, PersonDep
from services.portal.rendering import redirect, render

router = APIRouter()
FUNDS = "/api/funds/v1"
OrderStatus = Literal["pending_approval", "approved", "rejected"]
DECIDED = {
    "approve": ("支付指令已批准，款项已支付", "Payment order approved: the money is paid"),
    "reject": ("支付指令已驳回，冻结款项已释放", "Payment order rejected: the hold is released"),
}


async def _render_payments(
    p: Person,
    status: OrderStatus = "pending_approval",
    cursor: str | None = None,
    problem: ApiProblem | None = None,
    **context: str,
) -> Response:
    page = await p.api.get(f"{FUNDS}/payment-orders", status=status, cursor=cursor, limit=50)
    return render(
        p,
        "finance/payments.html",
        status_code=problem.status if problem else 200,
        problem=problem,
        page=page,
        status=status,
        **context,
    )


@router.get("/finance/payments")
async def payments(
    p: PersonDep, status: OrderStatus = "pending_approval", cursor: str | None = None
) -> Response:
    return await _render_payments(p, status, cursor)


@router.post("/finance/payments/{order_id}/decision")
async def decide(
    p: PersonDep,
    order_id: UUID,
    decision: Annotated[Literal["approve", "reject"], Form()],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    # Approving takes an optional remark; rejecting needs a reason (the API says so if missing).
    body = {"reason": reason.strip()} if reason.strip() or decision == "reject" else None
    try:
        await p.api.post(f"{FUNDS}/payment-orders/{order_id}/{decision}", body)
    except ApiProblem as problem:
        return await _render_payments(p, problem=problem, failed_order=str(order_id), reason=reason)
    return redirect("/finance/payments", DECIDED[decision])


@router.get("/finance/grants")
async def grants(p: PersonDep, cursor: str | None = None) -> Response:
    page = await p.api.get(f"{FUNDS}/grants", cursor=cursor, limit=50)
    return render(p, "finance/grants.html", page=page)


@router.get("/finance/vouchers")
async def vouchers(p: PersonDep, cursor: str | None = None) -> Response:
    page = await p.api.get(f"{FUNDS}/vouchers", cursor=cursor, limit=50)
    return render(p, "finance/vouchers.html", page=page)

"""My credit file: records, the rating with its reasons and next change, objection and appeal
with their deadlines (and my organization's file, for its administrators)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form
from starlette.responses import Response

from services.portal.api import ApiProblem
from services.portal.people import PersonDep
from services.portal.rendering import redirect, render

router = APIRouter()
STATEMENTS = {
    "objection": ("异议已提交", "Objection lodged"),
    "appeal": ("申诉已提交", "Appeal lodged"),
}


@router.get("/credit")
async def my_file(p: PersonDep) -> Response:
    files = await p.api.get("/api/credit/v1/me/file")
    return render(p, "credit/file.html", files=files)


@router.post("/credit/records/{record_id}/{kind}")
async def lodge(
    p: PersonDep,
    record_id: UUID,
    kind: str,
    statement: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    if kind not in STATEMENTS:
        return redirect("/credit")
    try:
        await p.api.post(f"/api/credit/v1/records/{record_id}/{kind}", {"statement": statement})
    except ApiProblem as problem:
        files = await p.api.get("/api/credit/v1/me/file")
        return render(
            p,
            "credit/file.html",
            status_code=problem.status,
            problem=problem,
            files=files,
            failed_record=str(record_id),
            failed_kind=kind,
            statement=statement,
        )
    return redirect("/credit", STATEMENTS[kind])

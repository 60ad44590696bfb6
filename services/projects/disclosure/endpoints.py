"""Public disclosure of approved projects (no login)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query

from services.projects.auth import NowDep
from services.projects.disclosure.schemas import PublicProject, PublicStatus
from services.projects.disclosure.service import ProjectSearch, public_project, search_projects
from shared.db import SessionDep
from shared.pagination import Page, PageDep

router = APIRouter(prefix="/v1/public", tags=["disclosure"])


@router.get(
    "/projects",
    response_model=Page[PublicProject],
    summary="Search approved projects (public, no login)",
)
async def search(
    session: SessionDep,
    page: PageDep,
    now: NowDep,
    program: Annotated[
        str | None, Query(max_length=40, description="program or fund: its id or code (ZDYF)")
    ] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    organization: Annotated[
        str | None,
        Query(max_length=200, description="an organization's id, or part of its name"),
    ] = None,
    q: Annotated[
        str | None,
        Query(max_length=100, description="words in the title, number or organization name"),
    ] = None,
    status: Annotated[PublicStatus | None, Query(description="the status as of now")] = None,
    call: Annotated[UUID | None, Query(description="the call the projects came from")] = None,
    notice_running: Annotated[
        bool,
        Query(description="only projects whose public notice (公示) runs now: open to objections"),
    ] = False,
) -> Page[PublicProject]:
    search = ProjectSearch(
        program=(program or "").strip() or None,
        year=year,
        organization=(organization or "").strip() or None,
        q=(q or "").strip() or None,
        status=status,
        call_id=call,
        notice_running=notice_running,
    )
    items, next_cursor = await search_projects(session, search, page, now)
    return Page[PublicProject](items=items, next_cursor=next_cursor)


@router.get(
    "/projects/{number}", response_model=PublicProject, summary="One approved project by number"
)
async def by_number(
    session: SessionDep, now: NowDep, number: Annotated[str, Path(max_length=30)]
) -> PublicProject:
    return await public_project(session, number, now)

"""The projects service: `create_app(settings)` for uvicorn and for tests."""

from __future__ import annotations

from fastapi import FastAPI

from services.projects.applications.endpoints import router as applications_router
from services.projects.calls.endpoints import router as calls_router
from services.projects.config import ProjectsSettings
from services.projects.consortium.endpoints import router as consortium_router
from services.projects.decisions.endpoints import router as decisions_router
from services.projects.delegation.endpoints import router as delegation_router
from services.projects.disclosure.bulk_endpoints import router as bulk_router
from services.projects.disclosure.endpoints import router as disclosure_router
from services.projects.documents.endpoints import router as documents_router
from services.projects.evaluation.endpoints import router as evaluation_router
from services.projects.execution.endpoints import router as execution_router
from services.projects.exports.endpoints import router as exports_router
from services.projects.models import Base, directory, events
from services.projects.outputs.endpoints import public_router as public_outputs_router
from services.projects.outputs.endpoints import router as outputs_router
from services.projects.overview.endpoints import router as overview_router
from services.projects.programs.endpoints import router as programs_router
from services.projects.reporting.endpoints import router as reporting_router
from services.projects.reporting.reminders import report_reminder_worker
from services.projects.reserve.endpoints import router as reserve_router
from services.projects.reserve.expiry import reserve_expiry_worker
from services.projects.review.admissions.endpoints import router as admissions_router
from services.projects.review.assignments.endpoints import router as assignments_router
from services.projects.review.experts.endpoints import router as experts_router
from services.projects.review.panels.endpoints import router as panels_router
from services.projects.review.rounds.endpoints import router as rounds_router
from services.projects.review.scoring.endpoints import router as scoring_router
from services.projects.tech_reports.endpoints import public_router as public_tech_reports_router
from services.projects.tech_reports.endpoints import router as tech_reports_router
from shared.auth.jwks import FetchDocument
from shared.clock import service_clock
from shared.objectstore.requests import close_at_shutdown, install_object_store
from shared.pagination import strict_query
from shared.service_app import ServiceParts, create_service_app

# Public by design: programs, published calls and approved projects (信息公开) need no login;
# nor does a real-name objection to a project in its public notice (the public has no
# accounts; the gateway limits it per client address).
PUBLIC_ROUTES = frozenset(
    {
        ("GET", "/v1/programs"),
        ("GET", "/v1/programs/{program_id}"),
        ("GET", "/v1/calls"),
        ("GET", "/v1/calls/{call_id}"),
        ("GET", "/v1/public/projects"),
        ("GET", "/v1/public/projects/{number}"),
        ("POST", "/v1/public/projects/{project_id}/objections"),
        # Outputs and 科技报告 abstracts whose embargo is over (docs/outputs.md).
        ("GET", "/v1/public/output-statistics"),
        ("GET", "/v1/public/tech-reports"),
        ("GET", "/v1/public/tech-reports/{report_id}"),
        # Issued documents: anyone may check a copy, and read a call's public notice (公示).
        ("GET", "/v1/public/documents/verification"),
        ("POST", "/v1/public/documents/verification"),
        ("GET", "/v1/public/calls/{call_id}/public-notices"),
        ("GET", "/v1/public/documents/{document_id}/pdf"),
        # Bulk data of funded projects per year: what the public search shows, in files.
        ("GET", "/v1/public/bulk/projects"),
        ("GET", "/v1/public/bulk/projects/{year}.csv"),
        ("GET", "/v1/public/bulk/projects/{year}.jsonl"),
    }
)


def create_app(
    settings: ProjectsSettings | None = None, *, jwks_fetch: FetchDocument | None = None
) -> FastAPI:
    settings = settings or ProjectsSettings()
    parts = ServiceParts(
        settings=settings,
        title="SciPlan projects",
        description=(
            "Programs (5 basic + X special funds), calls, applications, review, decisions "
            "and the project lifecycle."
        ),
        metadata=Base.metadata,
        events=events,
        directory=directory,
        routers=[
            strict_query(programs_router),
            strict_query(calls_router),
            strict_query(applications_router),
            strict_query(experts_router),
            strict_query(admissions_router),
            strict_query(rounds_router),
            strict_query(assignments_router),
            strict_query(scoring_router),
            strict_query(panels_router),
            strict_query(decisions_router),
            strict_query(reserve_router),
            strict_query(execution_router),
            strict_query(disclosure_router),
            strict_query(evaluation_router),
            strict_query(overview_router),
            strict_query(consortium_router),
            strict_query(delegation_router),
            strict_query(reporting_router),
            strict_query(outputs_router),
            strict_query(public_outputs_router),
            strict_query(tech_reports_router),
            strict_query(public_tech_reports_router),
            strict_query(documents_router),
            strict_query(exports_router),
            strict_query(bulk_router),
        ],
        public_routes=PUBLIC_ROUTES,
        background=[close_at_shutdown, report_reminder_worker, reserve_expiry_worker],
    )
    app = create_service_app(parts, jwks_fetch=jwks_fetch)
    app.state.clock = service_clock(parts.settings.test_clock_file)
    # Attachments (tests may put another store in `app.state.objects` before the app starts).
    install_object_store(app, settings.open_object_store())
    # Tests put an in-process credit client here; otherwise one over HTTP is made on first use.
    app.state.credit_client = None
    return app

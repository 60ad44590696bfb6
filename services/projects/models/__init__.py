"""Tables of the projects service, all in the PostgreSQL schema `projects`.

Split by stage of a project's life; every module's tables hang off the one `Base` below.
"""

from __future__ import annotations

from services.projects.models.base import Base, directory, events
from services.projects.models.calls import Call
from services.projects.models.collaboration import ConsortiumPart, Delegation, PartEndorsement
from services.projects.models.documents import DocumentNumberSequence, IssuedDocument
from services.projects.models.evaluation import Engagement, Evaluation
from services.projects.models.history import Transition
from services.projects.models.lifecycle import (
    ChangeRequest,
    NumberSequence,
    Objection,
    Project,
    Report,
    TaskBook,
)
from services.projects.models.outputs import Output, TechReport
from services.projects.models.panels import (
    PanelDraw,
    PanelMember,
    PanelScore,
    PanelSettings,
    PanelShortlistEntry,
    PanelStage,
)
from services.projects.models.programs import Program, ProgramEnvelope, ProgramManager
from services.projects.models.reporting import ReportDue, ReportPolicy, ReportSchedule
from services.projects.models.review import (
    Assignment,
    AssignmentDraw,
    AssignmentRun,
    AssignmentRunJob,
    Conflict,
    DeclaredConflict,
    Expert,
    ExpertApplication,
    ExpertApplicationState,
    OrganizationLink,
    ReviewRound,
    ReviewSettings,
    ScoreSheet,
)
from services.projects.models.submissions import (
    Application,
    ApplicationVersion,
    Attachment,
    FormalCheck,
)

__all__ = [
    "Application",
    "ApplicationVersion",
    "Assignment",
    "AssignmentDraw",
    "AssignmentRun",
    "AssignmentRunJob",
    "Attachment",
    "Base",
    "Call",
    "ChangeRequest",
    "Conflict",
    "ConsortiumPart",
    "DeclaredConflict",
    "Delegation",
    "DocumentNumberSequence",
    "Engagement",
    "Evaluation",
    "Expert",
    "ExpertApplication",
    "ExpertApplicationState",
    "FormalCheck",
    "IssuedDocument",
    "NumberSequence",
    "Objection",
    "OrganizationLink",
    "Output",
    "PanelDraw",
    "PanelMember",
    "PanelScore",
    "PanelSettings",
    "PanelShortlistEntry",
    "PanelStage",
    "PartEndorsement",
    "Program",
    "ProgramEnvelope",
    "ProgramManager",
    "Project",
    "Report",
    "ReportDue",
    "ReportPolicy",
    "ReportSchedule",
    "ReviewRound",
    "ReviewSettings",
    "ScoreSheet",
    "TaskBook",
    "TechReport",
    "Transition",
    "directory",
    "events",
]

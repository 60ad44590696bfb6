from services.projects.models import Base
from shared.migrate import run_environment

run_environment(Base.metadata, "projects")

from services.portal.models import Base
from shared.migrate import run_environment

run_environment(Base.metadata, "portal")

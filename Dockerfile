# syntax=docker/dockerfile:1
# One image for every SciPlan process: `python -m sciplan.serve <service>` or the `sciplan` CLI.

FROM python:3.11-slim AS build
# Same uv as the Makefile, so the lock file resolves the same way.
RUN pip install --no-cache-dir uv==0.13.8
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first: this layer is reused until uv.lock or pyproject.toml changes.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-project
COPY README.md alembic.ini ./
COPY shared shared
COPY services services
COPY sciplan sciplan
COPY migrations migrations
# Editable install (uv's default): shared/migrate.py finds alembic.ini and migrations/ next to
# the sources, so the tree stays at /app in the runtime stage too.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev
# UV_COMPILE_BYTECODE covers the dependencies, not the editable sources; the runtime stage sets
# PYTHONDONTWRITEBYTECODE, so without this every start would compile them anew.
RUN .venv/bin/python -m compileall -q shared services sciplan

FROM python:3.11-slim
RUN useradd --system --uid 10001 --no-create-home sciplan
WORKDIR /app
COPY --from=build /app /app
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER sciplan
# docker-compose.yml names the service; this default is only for a bare `docker run`.
CMD [".venv/bin/python", "-m", "sciplan.serve", "gateway"]

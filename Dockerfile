# syntax=docker/dockerfile:1
# One image for the API and the consumers:
#   API (default):  python -m auth_api serve --host 0.0.0.0
#   consumer:       python -m consumers quiz-profiles   (set as the container's command)

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# uv, pinned to the version that wrote uv.lock.
FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /usr/local/bin/uv
# Compile bytecode now (the runtime user cannot write it); copy, not link, out of the
# cache; use the image's Python, never a downloaded one.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src
COPY pyproject.toml uv.lock ./
# Only the locked runtime dependencies: the application runs from its source tree below,
# next to the web page and the event schemas it reads at run time.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="quizauth" \
      org.opencontainers.image.description="Event-driven authentication service and its consumers" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY auth_api ./auth_api
COPY consumers ./consumers
COPY quizauth_wire ./quizauth_wire
COPY web ./web
COPY schemas ./schemas
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PROMETHEUS_DISABLE_CREATED_SERIES=True
USER 10001:10001
EXPOSE 8000
# Slim images have no curl: ask the liveness route with the interpreter at hand.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2)"]
CMD ["python", "-m", "auth_api", "serve", "--host", "0.0.0.0", "--port", "8000"]

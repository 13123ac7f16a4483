# syntax=docker/dockerfile:1
# One image for the API and the consumers:
#   API (default):  python -m auth_api serve   (on AUTH_HOST:AUTH_PORT, 0.0.0.0:8000)
#   consumer:       python -m consumers quiz-profiles   (set as the container's command)
#
# The base is a build argument. The default is the official slim image; `make image`
# passes a Debian bookworm base bootstrapped from Debian's packages when no registry can
# be reached (infra/image/build). Everything below works on both: it needs `python3`
# with `venv` (ensurepip), and `groupadd`/`useradd`.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
# uv, pinned to the version that wrote uv.lock. It comes from the package index with pip,
# like the dependencies, so a build needs no registry but the base image's.
ARG UV_VERSION=0.13.9
# Compile bytecode now (the runtime user cannot write it); copy, not link, out of the
# cache; use the image's Python, never a downloaded one.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# The optional secret `index-env` holds the builder's package index settings (PIP_*,
# UV_* lines for the shell); `index-ca` a CA bundle for them. Secrets stay out of the
# layers and the history, and do not change the cache keys.
COPY infra/image/with-index /usr/local/bin/with-index
RUN --mount=type=secret,id=index-env --mount=type=secret,id=index-ca \
    python3 -m venv /opt/uv \
    && sh /usr/local/bin/with-index /opt/uv/bin/pip install --no-cache-dir "uv==${UV_VERSION}" \
    && ln -s /opt/uv/bin/uv /usr/local/bin/uv
WORKDIR /src
COPY pyproject.toml uv.lock ./
# Only the locked runtime dependencies: the application runs from its source tree below,
# next to the web page and the event schemas it reads at run time.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=index-env --mount=type=secret,id=index-ca \
    sh /usr/local/bin/with-index uv sync --frozen --no-dev --no-install-project
# The sources, with their bytecode: compiled here because the runtime user cannot write
# it. checked-hash: a source file mounted over the image's is never shadowed by its .pyc.
WORKDIR /app
COPY auth_api ./auth_api
COPY consumers ./consumers
COPY quizauth_wire ./quizauth_wire
COPY quizauth_client ./quizauth_client
COPY web ./web
COPY schemas ./schemas
RUN python3 -m compileall -q --invalidation-mode checked-hash auth_api consumers quizauth_client

# No uv, pip cache or build step here: the interpreter, the virtualenv and the sources.
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="quizauth" \
      org.opencontainers.image.description="Event-driven authentication service and its consumers" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app
COPY --from=builder /opt/venv /opt/venv
# AUTH_HOST and AUTH_PORT: where `serve` listens, and the port the HEALTHCHECK asks. A
# container on the host's network changes AUTH_PORT (and AUTH_HOST), not the command.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PROMETHEUS_DISABLE_CREATED_SERIES=True \
    AUTH_HOST=0.0.0.0 \
    AUTH_PORT=8000
USER 10001:10001
EXPOSE 8000
# Slim images have no curl: ask the liveness route with the interpreter at hand.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"AUTH_PORT\"]}/health/live', timeout=2)"]
CMD ["python", "-m", "auth_api", "serve"]
# The sources last, in one layer: a change to them rebuilds only this layer of the image.
# Owned by root: the runtime user reads them and cannot change them.
WORKDIR /app
COPY --from=builder /app ./

# The commands the README promises. `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run serve consumers tail-events test test-fast e2e lint typecheck static-checks validate-manifests format bench stack-up stack-down stack-status clean

install: ## Install the locked dependencies into .venv
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install -q uv
	$(UV) sync --frozen

run: install ## Serve on :8000 in embedded mode (in-process backends, nothing kept)
	AUTH_ENV=development $(UV) run --frozen python -m auth_api serve --host $(HOST) --port $(PORT)

serve: install ## Serve against the servers in the AUTH_* settings
	$(UV) run --frozen python -m auth_api serve --host $(HOST) --port $(PORT)

consumers: install ## Run the reference quiz-profiles consumer against the AUTH_* settings
	$(UV) run --frozen python -m consumers quiz-profiles

tail-events: install ## Print the auth events as they arrive, one JSON line each
	$(UV) run --frozen python -m consumers tail

test: install lint typecheck static-checks ## Lint, type-check, and run the whole suite on the real servers
	$(UV) run --frozen pytest

test-fast: install ## Only the tests that need no server
	$(UV) run --frozen pytest -m "not integration" -k "not real and not mongo and not redis"

lint: install
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen lint-imports

typecheck: install
	$(UV) run --frozen mypy

static-checks: install ## docker-compose.yml and the Dockerfile, checked without a Docker engine
	UV="$(UV)" bash .ci/static-checks

validate-manifests: ## The Kubernetes manifests (deploy/), built and checked against the API types, no cluster
	bash .ci/validate-manifests

bench: install ## Benchmark the API on the real servers (BENCH_ARGS=--quick for a smoke run)
	$(UV) run --frozen python -m bench $(BENCH_ARGS)

e2e: install ## Only the browser tests (headless Debian chromium, real servers)
	$(UV) run --frozen pytest tests/e2e

.PHONY: soak
soak: install ## Minutes of mixed load, Kafka restarted midway, then nothing-lost checks (SOAK_SECONDS=180, SOAK_REPLICAS=3 for three API processes)
	$(UV) run --frozen python -m soak

format: install
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

stack-up: ## Start MongoDB (mongo-java-server), Redis and Kafka on 127.0.0.1
	infra/stack up

stack-down:
	infra/stack down

stack-status:
	infra/stack status

clean:
	infra/stack down || true
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache

# --- Container image (docs/operations.md, "The image") -----------------------------------
# Built with Docker when an engine answers, else with podman on a Debian base bootstrapped
# from Debian's packages into .cache/image/ (no image registry needed).
IMAGE ?= quizauth:local
.PHONY: image image-test

image: ## Build the container image (IMAGE=quizauth:local) and print its size
	IMAGE="$(IMAGE)" infra/image/build

image-test: install image ## Run the image against the real servers: health, auth, consumer, read-only root, SIGTERM
	AUTH_REQUIRE_SERVICES=1 IMAGE="$(IMAGE)" $(UV) run --frozen pytest tests/image -v

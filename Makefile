# Entry points (see README): make test | demo | plan STACK=dev [BASE=dir] | charts | bench | lock
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
STACK ?= dev
UV_VERSION := 0.13.9
UV := .cache/uv/bin/uv
INFRA := .venv/bin
APPS := .venv-apps/bin
DEBIAN_PACKAGES := prometheus redis-server wrk

.PHONY: help venv system-deps lint typecheck test test-infra test-apps test-llm plan plans charts schema demo bench lock clean

help:
	@echo "make test            install what is missing, lint, type-check, run every test"
	@echo "make demo            run the whole ML loop locally (train, serve, drift, retrain, promote)"
	@echo "make plan STACK=dev  evaluate a stack offline: build/plan/<stack>/{resources.json,manifests/,report.md}"
	@echo "make plan STACK=prod BASE=<dir of an earlier plan>   ... plus what the change creates, updates, replaces, deletes"
	@echo "make plans           plan every Pulumi.<stack>.yaml in the repository"
	@echo "make charts          pull the pinned Helm charts into the chart cache (CHART_CACHE, default .cache/charts)"
	@echo "make bench           benchmarks (serving vs MLServer and mlflow models serve, drift vs Evidently, CBPE vs NannyML, the plan with a chart-sized release)"
	@echo "make lock            re-resolve requirements/*.in into the lock files"

$(UV):
	$(PYTHON) -m venv .cache/uv
	.cache/uv/bin/pip install --quiet uv==$(UV_VERSION)

# Environments, each from its lock: the Pulumi program + policy pack + offline plan (.venv, which also
# installs this package), and .venv-<name> from requirements/<name>.lock: the apps (kserve needs protobuf
# 6, pulumi-policy protobuf 5), checkov (pins packaging<24), and the benchmarks' peers, NannyML (bench)
# and MLServer (mlserver), whose pins clash with the apps'.
.venv/.stamp: requirements/infra.lock pyproject.toml contracts/pyproject.toml | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) .venv
	VIRTUAL_ENV=.venv $(UV) pip sync --quiet requirements/infra.lock
	VIRTUAL_ENV=.venv $(UV) pip install --quiet --no-deps -e ./contracts -e .
	touch $@

# What an environment installs of this repository besides its lock: the apps only the contracts.
OWN_apps := -e ./contracts
# Where an environment finds what no index has: the LLM suite's torch is the CPU build this kind of
# machine keeps on disk (pip's find-links; any other torch is a CUDA build of several GB).
TORCH_WHEELS ?= /opt/wheels
FIND_LINKS_llm = --find-links $(TORCH_WHEELS)
.venv-%/.stamp: requirements/%.lock contracts/pyproject.toml | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) .venv-$*
	VIRTUAL_ENV=.venv-$* $(UV) pip sync --quiet $(FIND_LINKS_$*) requirements/$*.lock
	$(if $(OWN_$*),VIRTUAL_ENV=.venv-$* $(UV) pip install --quiet --no-deps $(OWN_$*))
	touch $@

venv: .venv/.stamp .venv-apps/.stamp .venv-checkov/.stamp .venv-llm/.stamp

# promtool (Debian `prometheus`), redis-server and wrk back the app tests and benchmarks; PostgreSQL the
# database bootstrap's test (the tests start their own server: the package's default cluster is not created).
system-deps:
	@missing=""; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; \
		else echo "need root to install$$missing (or install them yourself)"; exit 1; fi; \
		$$sudo mkdir -p /etc/postgresql-common && echo "create_main_cluster = false" | $$sudo tee /etc/postgresql-common/createcluster.conf >/dev/null; \
		$$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

lint: .venv/.stamp
	$(INFRA)/ruff check .
	$(INFRA)/ruff format --check .
	$(INFRA)/actionlint .github/workflows/*.yml

# mypy follows no import hook (the editable installs' finders): it reads the three packages through a
# tree of links named as they install.
typecheck: .venv/.stamp
	rm -rf build/typecheck && mkdir -p build/typecheck/mlops_platform
	for pkg in components contracts provider; do ln -s ../../../$$pkg build/typecheck/mlops_platform/$$pkg; done
	MYPYPATH=build/typecheck $(INFRA)/mypy -p mlops_platform.components -p mlops_platform.contracts -p mlops_platform.provider

test-infra: .venv/.stamp .venv-checkov/.stamp system-deps
	$(INFRA)/pytest tests/infra tests/policies

test-apps: .venv-apps/.stamp system-deps
	$(APPS)/pytest tests/apps

# A real vLLM (CPU build) serving a tiny model the tests build, and Prometheus scraping it.
test-llm: .venv-llm/.stamp system-deps
	.venv-llm/bin/pytest tests/llm

# The suites share nothing (their own environments, servers on free loopback ports): side by side,
# each one's output shown whole when it ends.
test: lint typecheck
	$(MAKE) --no-print-directory -j3 --output-sync=target test-infra test-apps test-llm

# Needs no root and no cloud: MLflow, the predictor, the monitor (and Prometheus, if installed) on loopback.
demo: .venv-apps/.stamp
	$(APPS)/python -m apps.demo

# Not part of `make test`: minutes of load on purpose. Each prints a BENCH line and writes build/bench/*.json.
bench: .venv/.stamp .venv-checkov/.stamp .venv-apps/.stamp .venv-bench/.stamp .venv-mlserver/.stamp system-deps
	$(APPS)/python -m bench.serving
	$(APPS)/python -m bench.drift
	$(APPS)/python -m bench.performance
	$(INFRA)/python -m bench.plan

# `make plan` fails (make's own status, 2) when the plan does: `python -m offline.plan` itself exits 2
# on an invalid config and 1 on a failed check, and make's message quotes which ("Error 1"/"Error 2").
# CHART_CACHE: where the chart archives are; REQUIRE_CHARTS=1 (CI): fail unless every chart is rendered
# from a pinned archive; NOTICE: a markdown file put at the top of the report (the preview workflow's
# note of changes to the gate).
CHART_ARGS = $(if $(CHART_CACHE),--chart-cache $(CHART_CACHE)) $(if $(filter-out 0,$(REQUIRE_CHARTS)),--require-charts)
PLAN_ARGS = --stack $(STACK) $(if $(STACK_FILE),--stack-file $(STACK_FILE)) $(if $(OUT),--out $(OUT)) \
	$(if $(BASE),--base $(BASE)) $(if $(NOTICE),--notice $(NOTICE)) $(CHART_ARGS)
plan: .venv/.stamp .venv-checkov/.stamp
	$(INFRA)/python -m offline.plan $(PLAN_ARGS)

# Every stack in the repository, found: what CI plans. BASE=<dir> compares each with <dir>/<stack>.
STACKS := $(sort $(patsubst Pulumi.%.yaml,%,$(wildcard Pulumi.*.yaml)))
plans: .venv/.stamp .venv-checkov/.stamp
	@status=0; for stack in $(STACKS); do \
		base=""; if [ -n "$(BASE)" ] && [ -d "$(BASE)/$$stack" ]; then base="--base $(BASE)/$$stack"; fi; \
		$(INFRA)/python -m offline.plan --stack $$stack $$base $(CHART_ARGS) || status=1; \
	done; exit $$status

# The multi-language package: provider/settings.py (TypedDicts generated from the settings
# models) and provider/schema.json (the schema the SDK infers), both committed; a test fails when stale.
schema: .venv/.stamp
	$(INFRA)/python -m offline.package --write

# The pinned charts (components/kit/versions.py) into the cache, each archive's sha256 checked against (or,
# for a new one, written to) requirements/charts.lock. Needs the network: the charts' repositories.
charts: .venv/.stamp
	$(INFRA)/python -m offline.charts $(if $(CHART_CACHE),--cache $(CHART_CACHE))

# Each image installs its own hash-pinned subset of the apps' lock (features resolves around the same
# Feast on its own: feast[aws] needs an older botocore).
IMAGE_LOCK := $(UV) pip compile --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes

lock: | $(UV)
	$(UV) pip compile --quiet --python-version 3.11 requirements/infra.in -o requirements/infra.lock
	$(UV) pip compile --quiet --python-version 3.11 requirements/apps.in -o requirements/apps.lock
	$(UV) pip compile --quiet --python-version 3.11 requirements/checkov.in -o requirements/checkov.lock
	$(UV) pip compile --quiet --python-version 3.11 requirements/bench.in -o requirements/bench.lock
	$(UV) pip compile --quiet --python-version 3.11 requirements/mlserver.in -o requirements/mlserver.lock
	$(UV) pip compile --quiet --python-version 3.11 $(FIND_LINKS_llm) --no-emit-package torchvision \
		--no-emit-package torchaudio --no-emit-package torchcodec requirements/llm.in -o requirements/llm.lock
	for app in serving monitor training mlflow_server; do \
		$(IMAGE_LOCK) --constraint requirements/apps.lock apps/$$app/requirements.in -o apps/$$app/requirements.txt || exit 1; \
	done
	$(IMAGE_LOCK) apps/features/requirements.in -o apps/features/requirements.txt

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache

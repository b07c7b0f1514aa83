# Scoresby: every target installs what it needs first, so `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# The init Lambda's layer (pystac-client and its pins, lambdas/requirements.txt): see infra/lambda_deps.py.
LAYER_STAMP := build/lambda-layer/.scoresby-layer
# odc-stac reads a run's collection.json in a test and the bench: its own venv, never the runtime's.
PEER := .venv-peer
PEER_STAMP := $(PEER)/.installed
# The map page of `scoresby view` (viewer/: OpenLayers, geotiff.js, proj4, bundled by esbuild).
VIEWER_STAMP := viewer/node_modules/.installed
VIEWER_BUNDLE := scoresby/view/static/viewer.js
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export MPLBACKEND := Agg
IMAGE ?= scoresby-worker:latest

.PHONY: install lambda-deps peer-env viewer viewer-deps install-node install-chromium install-postgis install-docker test test-fast image test-image demo bench lint typecheck synth deploy clean

install: $(STAMP) $(LAYER_STAMP)

# pip installs the Lambda platform's wheels (ARM64, the runtime's Python) into a folder the stack uses as a
# layer asset, so synthesis needs neither Docker nor the network.
lambda-deps: $(LAYER_STAMP)

$(LAYER_STAMP): lambdas/requirements.txt infra/run_functions.py $(STAMP)
	$(BIN)/python -m infra.lambda_deps

$(STAMP): requirements.txt worker/requirements.txt worker/constraints.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "Scoresby needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) --version 2>&1). Use: make PYTHON=python3.12 ..."; exit 1; }
	@# Debian and Ubuntu ship venv's pip bootstrap separately (python3-venv).
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { \
	  echo "Installing Debian's python3-venv (needed by python -m venv)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-venv >/dev/null; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# The worker image's pins (worker/constraints.txt) hold here too: tests run what the image runs.
	$(BIN)/pip install --quiet -r requirements.txt -c worker/constraints.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

peer-env: $(PEER_STAMP)

$(PEER_STAMP): bench/peer-requirements.txt
	$(PYTHON) -m venv $(PEER)
	$(PEER)/bin/pip install --quiet --upgrade pip
	$(PEER)/bin/pip install --quiet -r bench/peer-requirements.txt
	touch $(PEER_STAMP)

# The bundle is committed (so `pip install .` needs no node); this rebuilds it from the pinned packages.
# tests/view/test_bundle.py checks that the committed bundle is what they build.
viewer: viewer-deps
	cd viewer && npm run --silent build

viewer-deps: $(VIEWER_STAMP)

$(VIEWER_STAMP): viewer/package.json viewer/package-lock.json
	cd viewer && npm ci --no-audit --no-fund --silent
	touch $(VIEWER_STAMP)

install-node: $(NODE_STAMP)

$(NODE_STAMP): package.json
	npm install --no-audit --no-fund --silent
	touch $(NODE_STAMP)

# The report test renders report.html in headless Chromium (Debian's package).
install-chromium:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the report test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The search tests run a real STAC API (stac-fastapi-pgstac) on Debian's PostgreSQL 15 with PostGIS.
install-postgis:
	@test -f /usr/share/postgresql/15/extension/postgis.control || { \
	  echo "Installing Debian's PostgreSQL 15 + PostGIS for the STAC search tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql-15 postgresql-15-postgis-3 >/dev/null; }

# The image tests run in `make test-image` (they need a Docker engine); PYTEST_ARGS adds pytest options.
test: install install-node install-chromium install-postgis peer-env viewer-deps
	$(BIN)/pytest -m "not image" $(PYTEST_ARGS)

# The edit loop: everything but the tests marked slow (CDK synthesis, moto end to end, full-size scenes).
test-fast: install
	$(BIN)/pytest -m "not slow" -q

# The worker image needs a Docker engine (Debian's docker.io) and, where python:3.11-slim-bookworm cannot be pulled,
# debootstrap for the offline base (scripts/offline_base.sh).
install-docker:
	@command -v dockerd >/dev/null && command -v debootstrap >/dev/null || { \
	  echo "Installing Debian's docker.io and debootstrap for the worker image"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq docker.io debootstrap >/dev/null; }

# Builds worker/Dockerfile into $(IMAGE); scripts/build_image.sh says which base it used.
image: install-docker
	scripts/with_dockerd.sh scripts/build_image.sh $(IMAGE)

# The image's own tests, then the AWS end-to-end test with every Batch job run as a container of the image.
# One dockerd (started here if none is running, stopped after, also on failure) serves the build and both.
test-image: install install-node install-postgis install-docker
	scripts/with_dockerd.sh bash -c 'scripts/build_image.sh $(IMAGE) \
	  && SCORESBY_IMAGE=$(IMAGE) $(BIN)/pytest -m image tests/image \
	  && SCORESBY_IMAGE=$(IMAGE) $(BIN)/pytest tests/e2e'

demo: install
	$(BIN)/python -m scoresby.demo

# The benchmark compares against the GDAL command-line tools (Debian's gdal-bin) in the same run. Its container
# part runs $(IMAGE), built here on a Docker engine as in test-image (bench/with_engine.sh); without Docker it
# says so and the rest still runs. BENCH_ARGS adds run_bench.py options (e.g. --runs 1 --save-figures).
# The composite part compares against odc-stac + dask in the bench-only venv (peer-env); the place part
# (bench/place_bench.py) measures a place-stage tile job, its reads from S3 and the AWS place-stage estimate.
bench: install peer-env install-chromium
	@command -v gdal_translate >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq gdal-bin python3-gdal >/dev/null; }
	@$(MAKE) --no-print-directory install-docker || echo "bench: could not install docker.io; the container part is not measured"
	bench/with_engine.sh $(IMAGE) bash -c '$(BIN)/python bench/run_bench.py $(BENCH_ARGS) && $(BIN)/python bench/science_bench.py \
	  && $(BIN)/python bench/composite_bench.py && $(BIN)/python bench/place_bench.py && $(BIN)/python bench/report_bench.py'

# The import contract (.importlinter) keeps worker's layers: commands -> stores | raster | discovery -> core.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy

synth: install install-node
	PATH=$(CURDIR)/$(BIN):$$PATH npx cdk synth -q --no-notices

deploy: install install-node
	PATH=$(CURDIR)/$(BIN):$$PATH npx cdk deploy --no-notices

clean:
	rm -rf $(VENV) $(PEER) node_modules viewer/node_modules cdk.out demo-output .pytest_cache

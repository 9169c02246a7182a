# chat-auth-emulator. Every target installs what it needs into .venv first (Python >= 3.11 and pip).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: run test lint bench install clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

## run: start the emulator on the embedded default configuration (http://127.0.0.1:8080)
run: $(STAMP)
	$(BIN)/chat-emulator serve --host $(HOST) --port $(PORT) $(if $(CONFIG),--config $(CONFIG))

## test: lint, then the whole test suite (in-process, plus a live uvicorn server)
test: $(STAMP)
	$(BIN)/ruff check emulator tests bench examples
	$(BIN)/ruff format --check emulator tests bench examples
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check emulator tests bench examples
	$(BIN)/ruff format --check emulator tests bench examples

## bench: performance ratios against baselines measured in the same run
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

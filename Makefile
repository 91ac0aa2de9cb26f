# The two commands a newcomer needs: `make run` and `make test`. Both create .venv on first use
# and reinstall when pyproject.toml or requirements.lock change.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.8

.PHONY: run test lock clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip sync --quiet --compile-bytecode --python $(VENV)/bin/python requirements.lock
	$(VENV)/bin/uv pip install --quiet --python $(VENV)/bin/python --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/lifeceo serve --demo-data

test: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Re-pin after editing dependencies in pyproject.toml.
lock: $(STAMP)
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV)

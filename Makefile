# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint bench bench-quick clean chromium fonts

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP) fonts
	$(BIN)/guatu up

# A CJK font for the 通报's chart (matplotlib finds it by family name) and the browser test's
# screenshots: Debian's fonts-wqy-microhei. Where it cannot be installed (no apt-get, not root)
# `make run` goes on with a warning (the chart's Chinese would show as boxes); `make test`
# needs it (the 通报 test checks the chart's font).
FONT_FILE := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
fonts:
	@test -e $(FONT_FILE) || { export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei >/dev/null; } \
	  || echo "warning: fonts-wqy-microhei not installed: the 通报 chart will lack Chinese glyphs" >&2; }

# The browser test drives Debian's Chromium (Playwright's own browser download cannot work here).
chromium: fonts
	@command -v chromium >/dev/null 2>&1 || { export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# Everything: the static checks, then every tier of the suite (unit, integration, faults, browser),
# in two pytest-xdist workers: each starts its own PostgreSQL and Temporal servers (session
# fixtures), so the workers share nothing; most tests wait on servers and timers, and two
# workers take the suite from about 13 to about 7.5 minutes on 2 cores.
TEST_WORKERS ?= 2
test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy guatu workflows activities config worker.py
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal --durations=15

# The unit tier only (no server, no subprocess; tiers are applied in tests/conftest.py):
# 20-40 s on a shared 2-core machine. Other tiers: `.venv/bin/python -m pytest -m "integration"`, etc.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy guatu workflows activities config worker.py

bench: $(STAMP)
	$(BIN)/python -m bench.run

bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --quick

clean:
	rm -rf $(VENV) .guatu

# The verbs people type. Every verb depends on `setup`, so a fresh clone needs no other step.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
ITS     := $(BIN)/its
SEEDS   ?= 16
BOARD   ?= ulx3s-85f
TEST    ?=
MHZ     ?=
APT_PKGS := iverilog gtkwave

.PHONY: setup demo test regress verilog waves docs bench bitstream program formal clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench,fpga]'
	@missing=""; for tool in $(APT_PKGS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing$$missing with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "missing$$missing: run  sudo apt-get install$$missing"; \
	  fi; \
	fi
	@touch $@

demo: setup
	$(ITS) demo

test: setup
	$(BIN)/python -m pytest -n auto -q

regress: setup
	$(ITS) regress --seeds $(SEEDS)

verilog: setup
	$(ITS) verilog

formal: setup
	$(ITS) formal

waves: setup
	$(ITS) waves $(if $(TEST),--test $(TEST))

docs: setup
	$(ITS) docs --out docs

bench: setup
	$(ITS) bench

bitstream: setup
	$(ITS) bitstream --board $(BOARD) $(if $(MHZ),--mhz $(MHZ))

program: setup
	$(ITS) program --board $(BOARD)

clean:
	rm -rf build .pytest_cache sim_build
	find . -name __pycache__ -prune -exec rm -rf {} +

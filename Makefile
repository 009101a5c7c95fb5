# operonx developer entry points. `make test` does all setup on a fresh machine
# (needs only a Rust toolchain, python3 >= 3.11 and access to crates.io/PyPI).

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
VPIP   := $(VPY) -m pip
MATURIN_SPEC := maturin>=1.9.4,<2
# maturin develop installs into the active virtualenv.
MATURIN := VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin

.PHONY: venv dev test example release bench

# (Re)create the venv and install maturin + dev deps when requirements change.
venv: $(VENV)/.deps-installed

$(VENV)/.deps-installed: requirements-dev.txt
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPIP) install --upgrade pip
	$(VPIP) install '$(MATURIN_SPEC)' -r requirements-dev.txt
	touch $@

# Debug build of the extension, installed (editable) into .venv.
dev: venv
	$(MATURIN) develop --locked

test: dev
	cargo check --locked --all-targets -p operonx
	cargo clippy --locked --all-targets -p operonx -- -D warnings
	PYO3_PYTHON=$(abspath $(VPY)) cargo clippy --locked --all-targets -p operonx-python -- -D warnings
	cargo test --locked
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check python/operonx
	$(VPY) -m pytest -q

example: dev
	$(VPY) examples/quickstart.py

release: venv
	$(MATURIN) build --locked --release -i $(VPY) -o dist

bench: venv
	bash benches/peers/setup.sh
	cargo bench --locked
	@if [ -f benches/python/run_all.py ]; then \
		$(MATURIN) develop --locked --release && \
		$(VPY) benches/python/run_all.py && \
		$(VPY) benches/python/run_stream.py && \
		$(VPY) benches/python/run_control.py; \
	else echo "benches/python/run_all.py not present yet; skipping"; fi

# operonx developer entry points. `make test` does all setup on a fresh machine
# (needs only a Rust toolchain, python3 >= 3.11 and access to crates.io/PyPI).

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
VPIP   := $(VPY) -m pip
MATURIN_SPEC := maturin>=1.9.4,<2
# maturin develop installs into the active virtualenv.
MATURIN := VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin

# `make dist`: manylinux2014 wheels for these interpreters (names found on PATH or under pyenv's versions/,
# or paths; see scripts/dist_pythons.py), plus the sdist.
DIST_PYTHONS ?= python3.11 python3.12 python3.13
DIST_DEPS := $(VENV)/.dist-deps-installed
# Release build, linked by zig against glibc 2.17, symbols stripped (only here: `make bench` keeps them).
WHEEL_FLAGS := --release --locked --strip --zig --compatibility manylinux2014
# maturin finds zig as `python3 -m ziglang`, so the venv's bin comes first on PATH.
DIST_MATURIN := PATH="$(abspath $(VENV))/bin:$$PATH" $(MATURIN)

.PHONY: venv dev test example release dist dist-check bench

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
	cargo clippy --locked --all-targets -p operonx-macros -- -D warnings
	cargo clippy --locked --all-targets -p operonx-llm -- -D warnings
	PYO3_PYTHON=$(abspath $(VPY)) cargo clippy --locked --all-targets -p operonx-python -- -D warnings
	cargo test --locked
	cargo test --locked -p operonx-llm
	cargo test --locked --doc -p operonx-macros
	RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps -p operonx -p operonx-macros -p operonx-llm
	cargo run --locked --example words
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check python/operonx
	$(VPY) -m pytest -q

example: dev
	$(VPY) examples/quickstart.py

$(DIST_DEPS): requirements-dist.txt $(VENV)/.deps-installed
	$(VPIP) install -r requirements-dist.txt
	touch $@

# Wheels for DIST_PYTHONS and the sdist, into a dist/ cleared of older operonx builds.
dist: $(DIST_DEPS)
	rm -f dist/operonx-*.whl dist/operonx-*.tar.gz
	pythons="$$($(VPY) scripts/dist_pythons.py $(DIST_PYTHONS))" && \
	$(DIST_MATURIN) build $(WHEEL_FLAGS) -o dist $$(for p in $$pythons; do printf -- '-i %s ' "$$p"; done)
	$(MATURIN) sdist -o dist
	ls -l dist

# `make dist` for the .venv's interpreter only.
release:
	$(MAKE) --no-print-directory dist DIST_PYTHONS=$(abspath $(VPY))

# Installs each wheel of dist/ into a fresh venv of its Python with no Rust on PATH; runs examples/*.py.
dist-check: $(DIST_DEPS)
	$(VPY) scripts/dist_check.py

bench: venv
	bash benches/peers/setup.sh
	cargo bench --locked
	@if [ -f benches/python/run_all.py ]; then \
		$(MATURIN) develop --locked --release && \
		$(VPY) benches/python/run_all.py && \
		$(VPY) benches/python/run_stream.py && \
		$(VPY) benches/python/run_control.py; \
	else echo "benches/python/run_all.py not present yet; skipping"; fi

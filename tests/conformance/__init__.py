"""Conformance fixtures: graph documents with the frames, result and errors every driver must give.

``ops`` is the vocabulary the documents call (mirrored in Rust by
``rust/core/tests/conformance_ops/mod.rs``); the ``cases_*`` modules write each fixture's graph with the
builder and its expectation by hand; ``tests/conformance_gen.py`` writes them to
``rust/core/tests/conformance/*.json``. See ``rust/core/tests/conformance/README.md``.
"""

"""The pure parts of scripts/dist_check.py and scripts/dist_pythons.py (`make dist-check` runs the rest)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import dist_check  # noqa: E402
import dist_pythons  # noqa: E402

WHEEL = Path("operonx-0.1.0-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.whl")


def test_wheel_tags_expand_the_compressed_tag_set():
    version, tags = dist_check.wheel_tags(WHEEL)
    assert version == "3.12"
    assert tags == {"cp312-cp312-manylinux2014_x86_64", "cp312-cp312-manylinux_2_17_x86_64"}


def test_wheel_tags_refuse_a_wheel_that_is_not_cpython_3():
    with pytest.raises(ValueError, match="not a CPython 3 wheel"):
        dist_check.wheel_tags(Path("operonx-0.1.0-py3-none-any.whl"))


@pytest.mark.parametrize(
    ("tag", "minor"),
    [
        ("manylinux_2_17_x86_64", 17),
        ("manylinux2014_x86_64", 17),
        ("manylinux1_x86_64", 5),
        ("manylinux_2_34_x86_64", 34),
        ("linux_x86_64", None),
    ],
)
def test_glibc_minor_reads_new_and_legacy_manylinux_tags(tag, minor):
    assert dist_check.glibc_minor(tag) == minor


def test_rustless_env_drops_every_directory_holding_cargo_or_rustc(tmp_path, monkeypatch):
    rust, plain = tmp_path / "cargo-bin", tmp_path / "plain"
    for folder in (rust, plain):
        folder.mkdir()
    (rust / "rustc").write_text("#!/bin/sh\n")
    (rust / "rustc").chmod(0o755)
    monkeypatch.setenv("PATH", os.pathsep.join([str(rust), str(plain)]))
    monkeypatch.setenv("CARGO_HOME", str(rust))
    env = dist_check.rustless_env(tmp_path / "venv")
    assert env["PATH"].split(os.pathsep) == [str(tmp_path / "venv" / "bin"), str(plain)]
    assert "CARGO_HOME" not in env


def test_find_takes_a_path_as_it_is_and_checks_a_versioned_name():
    path, version = dist_pythons.find(sys.executable)
    assert Path(path) == Path(sys.executable).absolute()
    assert version == "%d.%d" % sys.version_info[:2]
    assert dist_pythons.find("python2.1") is None


def test_pyenv_versions_are_tried_newest_first(tmp_path, monkeypatch):
    for version in ("3.12.1", "3.12.10", "3.12.9"):
        exe = tmp_path / "versions" / version / "bin" / "python3.12"
        exe.parent.mkdir(parents=True)
        exe.write_text("")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    found = [Path(c).parent.parent.name for c in dist_pythons.candidates("python3.12")]
    assert found == ["3.12.10", "3.12.9", "3.12.1"]

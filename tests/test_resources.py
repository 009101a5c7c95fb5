"""Resources: ``bootstrap()``, ``Operon(g, resources=..., env_file=...)``, ops receiving resources through
annotated parameters or ``operonx.resources.get``, and an unset variable (a warning at load naming the
variable, the key and the file; an error naming them when the resource is used)."""

from __future__ import annotations

import asyncio
import os
import warnings
from typing import Annotated, Any

import pytest

import operonx
from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx import resources
from operonx.errors import OpError, OperonUsageError
from operonx.resources import (
    EnvVarUnsetError,
    NoResourceHubError,
    Resource,
    ResourceFileError,
    ResourceFileNotFoundError,
    ResourceHub,
    ResourceHubWarning,
    ResourceNotFoundError,
    UnsetVariableWarning,
)

YAML = """\
llm:
  gpt:
    model: gpt-4o
    api_key: ${RES_TEST_KEY}
    base_url: ${RES_TEST_URL:-https://api.example.org/v1}
  claude:
    api_key: ${RES_TEST_UNSET}
search:
  url: https://search.example.org
"""


@pytest.fixture(autouse=True)
def no_hub_and_clean_environment():
    """Each test starts with no process-wide hub, and leaves os.environ as it found it."""
    before = dict(os.environ)
    ResourceHub.reset_instance()
    yield
    ResourceHub.reset_instance()
    for key in set(os.environ) - set(before):
        del os.environ[key]
    os.environ.update(before)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A working directory with resources.yaml and .env."""
    (tmp_path / "resources.yaml").write_text(YAML)
    (tmp_path / ".env").write_text("# secrets\nRES_TEST_KEY=sk-from-dotenv\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RES_TEST_KEY", raising=False)
    monkeypatch.delenv("RES_TEST_URL", raising=False)
    monkeypatch.delenv("RES_TEST_UNSET", raising=False)
    return tmp_path


def test_bootstrap_reads_the_working_directory_and_warns_about_an_unset_variable(project):
    with pytest.warns(UnsetVariableWarning) as caught:
        hub = operonx.bootstrap()
    [w] = [w.message for w in caught if isinstance(w.message, UnsetVariableWarning)]
    file = str((project / "resources.yaml").resolve())
    assert (w.variable, w.key, w.resource, w.file) == ("RES_TEST_UNSET", "llm:claude.api_key", "llm:claude", file)
    assert "${RES_TEST_UNSET}" in str(w) and "llm:claude.api_key" in str(w) and file in str(w)
    assert caught[0].filename == __file__  # the warning points at the bootstrap() call

    assert resources.installed() is not None and resources.installed().names() == hub.names()
    assert hub.names() == ["llm:gpt", "llm:claude", "search"]
    assert os.environ["RES_TEST_KEY"] == "sk-from-dotenv"  # .env loaded into the environment
    assert resources.get("llm:gpt") == {
        "model": "gpt-4o", "api_key": "sk-from-dotenv", "base_url": "https://api.example.org/v1",
    }
    assert project / ".env" in operonx.resources.BOOTSTRAP_ENV_PATHS or (project / ".env").resolve() in (
        operonx.resources.BOOTSTRAP_ENV_PATHS
    )

    with pytest.raises(EnvVarUnsetError) as info:
        resources.get("llm:claude")
    e = info.value
    assert (e.variable, e.key, e.resource, e.file) == ("RES_TEST_UNSET", "llm:claude.api_key", "llm:claude", file)
    assert "RES_TEST_UNSET" in str(e) and "llm:claude.api_key" in str(e) and file in str(e)
    assert isinstance(e, RuntimeError)  # as 0.7.1's EnvVarUnsetError


def test_the_environment_wins_over_dotenv(project, monkeypatch):
    monkeypatch.setenv("RES_TEST_KEY", "from-environment")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsetVariableWarning)
        operonx.bootstrap()
    assert os.environ["RES_TEST_KEY"] == "from-environment"
    assert resources.get("llm:gpt")["api_key"] == "from-environment"


def test_bootstrap_without_resources_yaml_warns_and_installs_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.warns(ResourceHubWarning, match="no resources.yaml at"):
        assert operonx.bootstrap() is None
    assert resources.installed() is None
    with pytest.raises(NoResourceHubError, match="no resource hub is installed"):
        resources.get("llm:gpt")
    with pytest.raises(ResourceFileNotFoundError):
        operonx.bootstrap(resources=tmp_path / "elsewhere.yaml")


@op
def ask(question: str, llm: Resource["llm:gpt"]):
    return {"answer": f"{question} -> {llm['model']} with {llm['api_key']}"}


@op(bound="cpu")
def find(answer: str, search: Resource):
    return {"found": f"{answer} @ {search['url']}"}


@op
async def cite(found: str, llm: Annotated[dict[str, Any], Resource("llm:gpt")]):
    await asyncio.sleep(0)
    return {"cited": f"{found} [{llm['base_url']}]"}


@op
def tokens(cited: str, search: Resource):
    yield {"token": cited}
    yield {"token": search["url"]}


def chain() -> GraphOp:
    with GraphOp(name="chain") as g:
        a = ask(question=PARENT["q"])
        b = find(answer=a["answer"])
        c = cite(found=b["found"])
        t = tokens(cited=c["cited"])
        START >> a >> b >> c >> t >> END
    return g


async def test_an_engine_with_its_own_hub_gives_annotated_parameters_their_resources(project):
    with pytest.warns(UnsetVariableWarning, match="RES_TEST_UNSET"):
        engine = Operon(chain(), resources="resources.yaml", env_file=".env")
    assert isinstance(engine.resources, ResourceHub) and resources.installed() is None
    assert "RES_TEST_KEY" not in os.environ  # env_file is read for the hub, not loaded into the environment
    result = await asyncio.wait_for(engine.run({"q": "why"}), 10)
    assert result["token"] == [
        "why -> gpt-4o with sk-from-dotenv @ https://search.example.org [https://api.example.org/v1]",
        "https://search.example.org",
    ]
    # resource parameters are not inputs of the op
    doc = chain().export_config()
    assert list(doc["ops"]["a"]["inputs"]) == ["question"]
    assert list(doc["ops"]["b"]["inputs"]) == ["answer"]


def test_ops_read_the_process_wide_hub_when_the_engine_has_none(project):
    @op
    def via_get(q):
        return {"model": resources.get("llm:gpt")["model"] + q}

    with GraphOp(name="g") as g:
        a = ask(question=PARENT["q"])
        b = via_get(q=a["answer"])
        START >> a >> b >> END
    engine = Operon(g)
    assert engine.resources is None
    with pytest.raises(OpError) as info:  # nothing installed yet: the op fails naming what it asked for
        engine.run_sync({"q": "x"})
    cause = info.value.__cause__
    assert isinstance(cause, NoResourceHubError)
    assert "ask(): parameter 'llm' asks for resource 'llm:gpt'" in str(cause)
    assert "op 'g.a'" in str(info.value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsetVariableWarning)
        operonx.bootstrap()
    assert engine.run_sync({"q": "!"})["model"] == "gpt-4o! -> gpt-4o with sk-from-dotenv"


def test_an_op_asking_for_a_resource_the_hub_lacks_fails_naming_op_parameter_and_resource(project):
    @op
    def wants(x, db: Resource["db:main"]):
        return {"y": x}

    with GraphOp(name="g") as g:
        w = wants(x=PARENT["x"])
        START >> w >> END
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsetVariableWarning)
        with pytest.raises(ResourceNotFoundError) as info:
            Operon(g, resources="resources.yaml")
    e = info.value
    assert (e.op, e.parameter, e.name) == ("g.w", "db", "db:main")
    assert e.available == ["llm:gpt", "llm:claude", "search"]
    assert "op 'g.w': parameter 'db' asks for resource 'db:main'" in str(e)
    assert isinstance(e, KeyError)  # as 0.7.1's hub raised for an unknown key

    # with the process-wide hub the op fails when it runs; the OpError names the op
    ResourceHub.empty().install()
    with pytest.raises(OpError, match=r"op 'g\.w'") as info:
        Operon(g).run_sync({"x": 1})
    cause = info.value.__cause__
    assert isinstance(cause, ResourceNotFoundError)
    assert (cause.parameter, cause.name) == ("db", "db:main")
    assert "wants(): parameter 'db' asks for resource 'db:main'" in str(cause)


def test_a_resource_with_an_unset_variable_fails_when_an_op_uses_it(project):
    @op
    def uses_claude(x, llm: Resource["llm:claude"]):
        return {"y": llm["api_key"]}

    with GraphOp(name="g") as g:
        u = uses_claude(x=PARENT["x"])
        START >> u >> END
    with pytest.warns(UnsetVariableWarning) as caught:
        engine = Operon(g, resources="resources.yaml", env_file=".env")
    assert caught[0].filename == __file__  # the warning points at the Operon(...) call
    with pytest.raises(OpError, match=r"op 'g\.u'") as info:
        engine.run_sync({"x": 1})
    cause = info.value.__cause__
    assert isinstance(cause, EnvVarUnsetError)
    assert (cause.variable, cause.key) == ("RES_TEST_UNSET", "llm:claude.api_key")
    assert cause.file == str((project / "resources.yaml").resolve())
    for part in ("RES_TEST_UNSET", "llm:claude.api_key", cause.file, "parameter 'llm'"):
        assert part in str(cause)


def test_malformed_and_missing_files_are_typed_errors(tmp_path):
    bad = tmp_path / "resources.yaml"
    bad.write_text("llm:\n  gpt:\n    model: [gpt-4o\n    key: x\n")
    with pytest.raises(ResourceFileError) as info:
        ResourceHub.load(bad)
    assert (info.value.file, info.value.line) == (str(bad), 4)
    assert f"{bad}, line 4" in str(info.value) and isinstance(info.value, ValueError)

    ok = tmp_path / "ok.yaml"
    ok.write_text("svc: {url: x}\n")
    (tmp_path / "bad.env").write_text("A=1\nnot a variable line\n")
    with pytest.raises(ResourceFileError) as info:
        ResourceHub.load(ok, tmp_path / "bad.env")
    assert info.value.line == 2

    with pytest.raises(ResourceFileNotFoundError) as info:
        Operon(chain(), resources=tmp_path / "missing.yaml")
    assert info.value.file == str(tmp_path / "missing.yaml") and isinstance(info.value, FileNotFoundError)
    assert "missing.yaml: does not exist" in str(info.value)
    with pytest.raises(OperonUsageError, match="env_file"):
        Operon(chain(), env_file=".env")


def test_the_hub_api_and_the_published_import_paths(project, monkeypatch):
    monkeypatch.setenv("RES_TEST_UNSET", "set-now")
    hub = ResourceHub.load("resources.yaml", ".env")
    assert hub.warnings == []
    assert list(hub) == hub.names() == hub.keys() == ["llm:gpt", "llm:claude", "search"]
    assert len(hub) == 3 and "search" in hub and "nope" not in hub and hub.has("llm:claude")
    first = hub.get("search")
    first["url"] = "changed"
    assert hub.get("search") == {"url": "https://search.example.org"}  # a new dict each time
    assert hub.get_config("llm:claude") == {"api_key": "set-now"}
    assert hub.source_path == str((project / "resources.yaml").resolve())
    assert hub.env_file == str((project / ".env").resolve())
    with pytest.raises(ResourceNotFoundError, match="resource 'nope' not found in .*it has: 'llm:gpt'"):
        hub.get("nope")
    with pytest.raises(NoResourceHubError):
        ResourceHub.instance()
    ResourceHub.set_instance(hub)
    assert ResourceHub.instance().names() == hub.names()
    assert resources.get("llm:claude") == {"api_key": "set-now"}
    # the same hub can be given to an engine
    engine = Operon(chain(), resources=hub)
    assert engine.resources is hub

    from operonx.core import ResourceHub as core_hub
    from operonx.core.registry import BOOTSTRAP_ENV_PATHS, EnvVarUnsetError as core_error, ResourceHubWarning as w

    assert core_hub is ResourceHub is operonx.ResourceHub
    assert core_error is EnvVarUnsetError and w is ResourceHubWarning
    assert BOOTSTRAP_ENV_PATHS is resources.BOOTSTRAP_ENV_PATHS
    assert operonx.bootstrap is resources.bootstrap


def test_a_parameter_annotated_with_the_hub_type_receives_the_hub(tmp_path):
    (tmp_path / "r.yaml").write_text("svc:\n  url: http://a\nother:\n  url: http://b\n")

    @op
    async def pick(name, hub: ResourceHub):
        return {"url": hub.get(name)["url"]}

    with GraphOp(name="g") as g:
        p = pick(name=PARENT["name"])
        START >> p >> END
    engine = Operon(g, resources=tmp_path / "r.yaml")
    assert asyncio.run(asyncio.wait_for(engine.run({"name": "other"}), 10))["url"] == "http://b"


async def test_an_engine_from_a_document_gives_annotated_parameters_their_resources(project):
    doc = chain().export_config()
    with pytest.warns(UnsetVariableWarning, match="RES_TEST_UNSET"):
        engine = Operon.from_json(doc, resources="resources.yaml", env_file=".env")
    assert isinstance(engine.resources, ResourceHub)
    result = await asyncio.wait_for(engine.run({"q": "why"}), 10)
    assert result["token"] == [
        "why -> gpt-4o with sk-from-dotenv @ https://search.example.org [https://api.example.org/v1]",
        "https://search.example.org",
    ]
    with pytest.raises(ResourceNotFoundError, match=r"op 'chain\.a': parameter 'llm' asks for resource 'llm:gpt'"):
        Operon.from_json(doc, resources=ResourceHub.empty())
    # with no hub of its own, the engine's ops read the process-wide hub, as Operon(g)'s do
    engine = Operon.from_json(doc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsetVariableWarning)
        operonx.bootstrap()
    assert (await asyncio.wait_for(engine.run({"q": "why"}), 10))["token"] == result["token"]

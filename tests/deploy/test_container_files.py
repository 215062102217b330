"""The Containerfile, compose.yaml and docs/deploy.md agree with the code they deploy."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_SOURCES = [
    ROOT / "src" / "faktura" / "settings.py",
    ROOT / "src" / "faktura" / "core" / "management" / "commands" / "serve.py",
]
COMPOSE_ONLY = {"POSTGRES_PASSWORD", "WEB_WORKERS", "FAKTURA_PORT"}


def _variables_read() -> set[str]:
    names: set[str] = set()
    for source in SETTINGS_SOURCES:
        text = source.read_text()
        names |= set(re.findall(r'environ(?:\.get)?[\[(]\s*"([A-Z][A-Z0-9_]+)"', text))
        names |= set(re.findall(r'_env_bool\(\s*"([A-Z][A-Z0-9_]+)"', text))
    return names


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_settings_read_the_variables_this_test_knows():
    # Guards the regular expressions: a test that found no variable could not fail.
    assert {"DATABASE_URL", "SECRET_KEY", "DEBUG", "EMAIL_HOST", "WEB_CONCURRENCY"} <= (
        _variables_read()
    )


def test_compose_runs_web_two_workers_and_postgres_16_on_volumes():
    services = _compose()["services"]
    assert services["web"]["command"][:2] == ["faktura", "serve"]
    assert services["worker"]["command"] == ["faktura", "worker"]
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["postgres"]["image"].endswith("postgres:16")
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert services["migrate"]["command"] == ["faktura", "migrate", "--noinput"]
    for name in ("web", "worker"):
        assert services[name]["volumes"] == ["data:/data"]
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
        assert services[name]["build"]["dockerfile"] == "Containerfile"
    assert set(_compose()["volumes"]) == {"data", "pgdata"}


def test_compose_sets_only_variables_faktura_reads():
    environment = _compose()["services"]["web"]["environment"]
    assert {"DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "EMAIL_HOST"} <= set(environment)
    assert set(environment) - _variables_read() == set()
    assert environment["DATABASE_URL"].startswith("postgres://faktura:")
    assert environment["DATABASE_URL"].endswith("@postgres:5432/faktura")


def test_every_variable_in_compose_and_env_example_is_documented():
    documented = (ROOT / "docs" / "deploy.md").read_text()
    compose_text = (ROOT / "compose.yaml").read_text()
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", compose_text))
    example = (ROOT / ".env.example").read_text()
    used |= set(re.findall(r"^([A-Z][A-Z0-9_]+)=", example, re.M))
    missing = {name for name in used if f"`{name}`" not in documented and name not in COMPOSE_ONLY}
    assert missing == set()


def test_deploy_doc_lists_every_environment_variable_faktura_reads():
    documented = (ROOT / "docs" / "deploy.md").read_text()
    missing = {name for name in _variables_read() if f"`{name}" not in documented}
    assert missing == set()
    assert "`FAKTURA_JOB_<NAME>`" in documented


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Containerfile").read_text().replace("\\\n", " ")
    result = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def test_containerfile_copies_files_that_exist_and_serves_as_a_user():
    instructions = _instructions()
    # The last stage is the image; the one before it only installs the npm packages.
    *build, base = [rest for keyword, rest in instructions if keyword == "FROM"]
    assert re.search(r"python:3\.11-slim", base)
    assert [re.search(r"node:\d+", stage) is not None for stage in build] == [True]
    copied = [
        source
        for keyword, rest in instructions
        if keyword == "COPY" and not rest.startswith("--from=")  # from the build's npm stage
        for source in shlex.split(rest)[:-1]
    ]
    assert "requirements.lock" in copied
    for source in copied:
        assert (ROOT / source).exists(), source
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users
    assert users[-1] not in ("root", "0")
    assert ("VOLUME", '["/data"]') in instructions
    command = next(rest for keyword, rest in reversed(instructions) if keyword == "CMD")
    assert command.startswith('["faktura", "serve"')
    run = " ".join(rest for keyword, rest in instructions if keyword == "RUN")
    assert "pip install -r /tmp/requirements.txt" in run
    assert "requirements-rules.txt" in run

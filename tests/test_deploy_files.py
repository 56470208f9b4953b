"""The deployment files agree with each other (no Docker engine here to run them)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def procfile(name: str = "Procfile") -> dict[str, str]:
    entries = {}
    for line in (ROOT / name).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, command = line.partition(":")
            entries[key.strip()] = command.strip()
    return entries


def normalise(command: str) -> str:
    return re.sub(r"\$\{[A-Z_]+:-([^}]+)\}", r"\1", command)


def test_procfile_has_every_process() -> None:
    assert set(procfile()) == {"release", "web", "bot", "worker", "beat"}


def test_compose_parses_and_runs_the_procfile_commands() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "bot", "worker", "beat"} <= set(services)
    proc = procfile()
    for name in ("web", "bot", "worker", "beat"):
        assert normalise(services[name]["command"]) == normalise(proc[name]), name
    assert services["migrate"]["command"] == proc["release"]
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]
    assert "test" in services["web"]["healthcheck"]
    assert services["web"]["environment"]["KICKBOT_ENV"] == "production"


def test_dev_procfile_runs_the_same_programs() -> None:
    dev = procfile("Procfile.dev")
    assert set(dev) == {"redis", "web", "bot", "worker", "beat"}
    for name in ("bot", "worker", "beat"):
        assert procfile()[name].split("${")[0].split(" --concurrency")[0] in dev[name]


def test_dockerfile_runs_as_non_root_and_collects_static() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "USER kickbot" in text
    assert "collectstatic" in text
    assert "HEALTHCHECK" in text


def test_env_example_lists_every_setting_the_readme_documents() -> None:
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)`", readme, flags=re.M))
    assert documented, "README has a configuration table"
    missing = sorted(name for name in documented if name not in example)
    assert not missing, missing

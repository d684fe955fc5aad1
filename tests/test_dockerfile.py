"""The Dockerfile, checked without a Docker daemon: it parses, builds on a slim Python that
pyproject allows, installs the extras named by its build argument, copies only what exists,
runs as a user of its own and starts `hygge`. Where a daemon answers, it is built and run."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
INSTRUCTIONS = {"FROM", "ARG", "ENV", "COPY", "RUN", "USER", "WORKDIR", "ENTRYPOINT", "CMD"}
# What a RUN may call: programs every python:*-slim image (Debian) has.
SLIM_PROGRAMS = {"apt-get", "python", "rm", "useradd", "mkdir"}


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), comments dropped and continued lines joined."""
    text = (REPO / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    found = []
    for line in filter(str.strip, joined.splitlines()):
        name, _, rest = line.strip().partition(" ")
        assert name in INSTRUCTIONS, f"unknown instruction {name!r}"
        found.append((name, rest.strip()))
    return found


def args_of(name: str) -> list[str]:
    return [rest for found, rest in instructions() if found == name]


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_it_builds_on_a_slim_python_that_pyproject_allows() -> None:
    versions = dict(arg.split("=", 1) for arg in args_of("ARG") if "=" in arg)
    assert instructions()[0][0] == "ARG" and args_of("FROM") == ["python:${PYTHON_VERSION}-slim"]
    oldest = pyproject()["project"]["requires-python"].removeprefix(">=")
    assert version(versions["PYTHON_VERSION"]) >= version(oldest)


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_the_extras_argument_names_real_extras_and_reaches_pip() -> None:
    extras = pyproject()["project"]["optional-dependencies"]
    default = next(a.split("=", 1)[1] for a in args_of("ARG") if a.startswith("EXTRAS="))
    assert all(name in extras for name in default.split(",") if name)
    install = next(r for r in args_of("RUN") if "pip install" in r)
    target = shlex.split(install.split("pip install", 1)[1])[0]
    for given, expected in [("postgres,s3", "/tmp/hygge[postgres,s3]"), ("", "/tmp/hygge")]:
        shell = subprocess.run(
            ["sh", "-c", f'printf %s "{target}"'],
            env={"EXTRAS": given},
            capture_output=True,
            text=True,
            check=True,
        )
        assert shell.stdout == expected


def test_what_it_copies_exists_and_is_all_the_build_needs() -> None:
    copied = [part for arg in args_of("COPY") for part in shlex.split(arg)[:-1]]
    assert copied and all((REPO / part).exists() for part in copied)
    assert {"pyproject.toml", "README.md", "LICENSE", "src"} <= set(copied)
    ignore = (REPO / ".dockerignore").read_text().split()
    assert all(f"!{part.rstrip('/')}" in [i.rstrip("/") for i in ignore] for part in copied)


def test_its_commands_exist_and_it_runs_hygge_as_a_user_of_its_own() -> None:
    for run in args_of("RUN"):
        for command in re.split(r"&&|;|\|\|", run):
            program = shlex.split(command)[0]
            assert program in SLIM_PROGRAMS, program
    user = args_of("USER")[-1]
    assert user not in {"root", "0"} and not user.startswith("0:")
    assert any("useradd" in run and run.split()[-1] == user for run in args_of("RUN"))
    entrypoint = json.loads(args_of("ENTRYPOINT")[-1])  # exec form: signals reach hygge
    assert entrypoint == ["hygge"] and "hygge" in pyproject()["project"]["scripts"]
    assert json.loads(args_of("CMD")[-1]) == ["--help"]


def docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    info = subprocess.run(["docker", "info"], capture_output=True, timeout=30)
    return info.returncode == 0


@pytest.mark.skipif(not docker_answers(), reason="no Docker daemon answers here")
def test_the_image_builds_and_runs_hygge() -> None:
    tag = "hygge-test:latest"
    build = subprocess.run(
        ["docker", "build", "--build-arg", "EXTRAS=", "-t", tag, str(REPO)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert build.returncode == 0, build.stderr
    ran = subprocess.run(
        ["docker", "run", "--rm", tag, "--version"], capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0 and "hygge" in ran.stdout, ran.stderr

"""Copy one app out of the monorepo as a standalone SAM project.

    python tools/eject.py <app> <dest>

A plain copy of ``apps/<app>`` breaks: its template points at ``../../shared/layer`` and its
deploy settings live in the root ``samconfig.toml``. The ejected project holds the app, the
common layer vendored under ``layer/``, its own ``samconfig.toml`` (a ``default`` config env),
a ``Makefile``, a ``pyproject.toml`` with the pinned tools, the test harness plugin and the
replay tool (``make redrive``). It
builds, validates, deploys and runs its tests on its own; integration tests target AWS
(the embedded local cloud stays in the monorepo).
"""

from __future__ import annotations

import re
import shutil
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
IGNORED = shutil.ignore_patterns(
    "__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".aws-sam"
)
# The tools an ejected project needs: a subset of the monorepo's pinned toolchain.
EJECTED_TOOLS = (
    "aws-sam-cli",
    "aws-lambda-powertools",
    "aws-xray-sdk",
    "boto3",
    "fastjsonschema",
    "moto",
    "pytest",
    "requests",
    "cfn-lint",
)

MAKEFILE = """\
# Standalone SAM project ejected from serverless-microservice-patterns ({app}).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
SAM := SAM_CLI_TELEMETRY=0 $(VENV)/bin/sam
STACK ?=

.PHONY: help venv build validate test deploy integration redrive delete
help: ## List the targets
\t@awk 'BEGIN {{FS = ":.*?## "}} /^[a-z-]+:.*?## / {{printf "  %-12s %s\\n", $$1, $$2}}' \
$(MAKEFILE_LIST)

$(VENV)/.installed: pyproject.toml
\t@test -x $(PY) || python3 -m venv $(VENV)
\t$(PY) -m pip install --quiet -e '.[dev]'
\t@touch $@

venv: $(VENV)/.installed ## Create .venv with the pinned tools

build: venv ## sam build (python3.13, arm64)
\t$(SAM) build

validate: venv ## sam validate --lint
\t$(SAM) validate --lint

test: validate ## Unit tests
\t$(PY) -m pytest tests/unit

deploy: build ## sam deploy to the account of your credentials [STACK=name]
\t$(SAM) deploy $(if $(STACK),--stack-name $(STACK))

integration: venv ## Integration tests against the deployed stack [STACK=name]
\t$(PY) -m pytest tests/integration --target aws $(if $(STACK),--stack-name $(STACK))

redrive: venv ## Replay dead-lettered work back to its source [STACK=name]
\t$(PY) tools/redrive.py . $(if $(STACK),--stack-name $(STACK))

delete: venv ## Delete the stack [STACK=name]
\t$(SAM) delete --no-prompts $(if $(STACK),--stack-name $(STACK))
"""


def _pinned(names: tuple[str, ...]) -> list[str]:
    """Exact pins for ``names`` from the monorepo's pyproject (extras kept)."""
    with (REPO_ROOT / "pyproject.toml").open("rb") as handle:
        dev = tomllib.load(handle)["project"]["optional-dependencies"]["dev"]
    by_name = {re.split(r"[\[=<>]", spec, maxsplit=1)[0].lower(): spec for spec in dev}
    return [by_name[name] for name in names]


def _samconfig(app: str) -> str:
    with (REPO_ROOT / "samconfig.toml").open("rb") as handle:
        config = tomllib.load(handle)
    if app not in config:
        raise SystemExit(f"samconfig.toml has no config env for {app!r}")
    lines = ["version = 0.1", ""]
    for command, section in config[app].items():
        params = dict(section.get("parameters", {}))
        params.pop("build_dir", None)  # default .aws-sam/build is right for a lone project
        if "template_file" in params:
            params["template_file"] = (
                ".aws-sam/build/template.yaml" if command == "deploy" else "template.yaml"
            )
        lines.append(f"[default.{command}.parameters]")
        for key, value in params.items():
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)


def _opt_in_layer_requirements(template: str) -> list[str]:
    """The pins of the opt-in layers (``<name>-requirements.txt``) the template declares.

    Unit tests of the functions that list such a layer import its packages, so the ejected
    project's environment needs them too. The logical id is the file's name in PascalCase
    plus ``Layer`` (``redis-client-requirements.txt`` -> ``RedisClientLayer``), as in the
    layer's Makefile.
    """
    pins: list[str] = []
    for requirements in sorted((REPO_ROOT / "shared" / "layer").glob("*-requirements.txt")):
        stem = requirements.name.removesuffix("-requirements.txt")
        logical_id = "".join(part.capitalize() for part in stem.split("-")) + "Layer"
        if re.search(rf"^\s+{logical_id}:\s*$", template, flags=re.MULTILINE):
            for line in requirements.read_text().splitlines():
                spec = line.split("#", 1)[0].strip()
                if spec:
                    pins.append(spec)
    return pins


def _pyproject(app: str) -> str:
    template = (REPO_ROOT / "apps" / app / "template.yaml").read_text()
    specs = [*_pinned(EJECTED_TOOLS), *_opt_in_layer_requirements(template)]
    deps = "\n".join(f'  "{spec}",' for spec in specs)
    return f"""\
[project]
name = "{app}"
version = "0.1.0"
requires-python = ">=3.11"

[project.optional-dependencies]
dev = [
{deps}
]

[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[tool.setuptools]
packages = []

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src", "layer", "tests"]
addopts = "-ra --strict-markers -p stack_testing"
markers = ["integration: needs a deployed stack"]
"""


def eject(app: str, dest: Path) -> Path:
    """Write the standalone project for ``app`` into ``dest`` (which must not exist)."""
    source = REPO_ROOT / "apps" / app
    if not (source / "template.yaml").is_file():
        raise SystemExit(f"no app {app!r} under {REPO_ROOT / 'apps'}")
    if dest.exists() and any(dest.iterdir()):
        raise SystemExit(f"{dest} exists and is not empty")
    shutil.copytree(source, dest, ignore=IGNORED, dirs_exist_ok=True)
    shutil.copytree(REPO_ROOT / "shared" / "layer", dest / "layer", ignore=IGNORED)
    shutil.copy2(REPO_ROOT / "shared" / "testing" / "stack_testing.py", dest / "tests")
    (dest / "tools").mkdir(exist_ok=True)
    shutil.copy2(REPO_ROOT / "tools" / "redrive.py", dest / "tools")

    template = dest / "template.yaml"
    text = template.read_text()
    if "../../shared/layer" not in text:
        raise SystemExit(f"{app}'s template does not use ../../shared/layer; cannot vendor it")
    template.write_text(text.replace("../../shared/layer", "layer"))

    (dest / "samconfig.toml").write_text(_samconfig(app))
    (dest / "Makefile").write_text(MAKEFILE.format(app=app))
    (dest / "pyproject.toml").write_text(_pyproject(app))
    (dest / ".gitignore").write_text(".venv/\n.aws-sam/\n__pycache__/\n.pytest_cache/\n")
    return dest


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    dest = eject(argv[0], Path(argv[1]).resolve())
    print(f"ejected {argv[0]} to {dest}: cd there and run `make test`, then `make deploy`")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

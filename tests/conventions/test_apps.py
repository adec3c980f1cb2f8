"""Every app follows the repository's conventions (CONTRIBUTING.md)."""

from __future__ import annotations

import ast
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
APPS = sorted(p.parent for p in (REPO_ROOT / "apps").glob("*/template.yaml"))
SAM = REPO_ROOT / ".venv" / "bin" / "sam"

# IAM actions AWS only grants on Resource "*" (they have no resource-level permissions).
ACTIONS_REQUIRING_STAR_RESOURCE = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "cloudwatch:PutMetricData",
}


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that keeps CloudFormation short-form tags (!Ref, !Sub...) as data."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(app: Path) -> dict[str, Any]:
    return yaml.load((app / "template.yaml").read_text(), Loader=_CfnLoader)


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: res
        for name, res in template["Resources"].items()
        if res["Type"] == "AWS::Serverless::Function"
    }


@pytest.fixture(params=APPS, ids=[a.name for a in APPS])
def app(request: pytest.FixtureRequest) -> Path:
    return request.param


def test_there_is_at_least_one_app() -> None:
    assert APPS, "no app found under apps/"


def test_app_has_the_required_files(app: Path) -> None:
    for required in ("template.yaml", "README.md", "src", "tests/unit", "tests/integration"):
        assert (app / required).exists(), f"{app.name} lacks {required}"
    assert list((app / "events").glob("*.json")), f"{app.name} has no sample event in events/"
    assert "```mermaid" in (app / "README.md").read_text(), f"{app.name} README has no diagram"


def test_app_ships_no_requirements_file(app: Path) -> None:
    """sam build fails without a python3.13 interpreter when a function has requirements.txt."""
    found = [str(p.relative_to(app)) for p in app.rglob("requirements*.txt")]
    assert not found, f"third-party code belongs in the common layer, found {found}"


def test_globals_set_runtime_architecture_tracing_and_layer(app: Path) -> None:
    function_globals = load_template(app).get("Globals", {}).get("Function", {})
    assert function_globals.get("Runtime") == "python3.13"
    assert function_globals.get("Architectures") == ["arm64"]
    assert function_globals.get("Tracing") == "Active"
    assert {"Ref": "CommonLayer"} in function_globals.get("Layers", [])


def test_every_function_uses_the_common_layer(app: Path) -> None:
    template = load_template(app)
    layer = template["Resources"]["CommonLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "../../shared/layer"
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    for name, function in functions(template).items():
        own_layers = function["Properties"].get("Layers")
        # A function's own Layers list replaces nothing: SAM appends Globals' layers to it.
        assert own_layers is None or {"Ref": "CommonLayer"} not in own_layers, name
        handler = function["Properties"].get("Handler", "")
        package = handler.split(".", 1)[0]
        assert (app / "src" / package / "__init__.py").is_file(), f"{name}: no package {package}"


def test_function_packages_are_unique_across_apps() -> None:
    """All apps' unit tests share one pytest session with each app's src/ on sys.path."""
    owners: dict[str, str] = {}
    for app in APPS:
        for package in (app / "src").iterdir():
            if (package / "__init__.py").is_file():
                assert package.name not in owners, (
                    f"package {package.name} is in both {owners[package.name]} and {app.name}"
                )
                owners[package.name] = app.name


def _statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, res in template["Resources"].items():
        props = res.get("Properties", {})
        policies = props.get("Policies", [])
        if res["Type"] == "AWS::IAM::Role":
            policies = [p.get("PolicyDocument", {}) for p in props.get("Policies", [])]
        if res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            policies = [props.get("PolicyDocument", {})]
        for policy in policies if isinstance(policies, list) else [policies]:
            if isinstance(policy, dict) and "Statement" in policy:
                found.extend((name, stmt) for stmt in policy["Statement"])
    return found


def test_no_iam_wildcards_beyond_what_aws_requires(app: Path) -> None:
    for owner, statement in _statements(load_template(app)):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        for action in actions:
            assert action != "*", f"{owner}: action {action}"
            assert not action.endswith(":*"), f"{owner}: action {action}"
        if "*" in resources:
            assert set(actions) <= ACTIONS_REQUIRING_STAR_RESOURCE, (
                f"{owner}: Resource '*' for {actions}"
            )


def test_samconfig_has_a_config_env_per_app(app: Path) -> None:
    with (REPO_ROOT / "samconfig.toml").open("rb") as handle:
        config = tomllib.load(handle)
    env = config.get(app.name)
    assert env, f"samconfig.toml has no [{app.name}.*] config env"
    assert env["build"]["parameters"]["template_file"] == f"apps/{app.name}/template.yaml"
    assert env["build"]["parameters"]["build_dir"] == f".aws-sam/{app.name}"
    deploy = env["deploy"]["parameters"]
    assert deploy["template_file"] == f".aws-sam/{app.name}/template.yaml"
    assert deploy["resolve_s3"] is True
    assert deploy["stack_name"]
    assert "CAPABILITY_IAM" in deploy["capabilities"]


def test_template_passes_sam_validate_lint(app: Path) -> None:
    result = subprocess.run(
        [str(SAM), "validate", "--lint", "--config-env", app.name],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={"SAM_CLI_TELEMETRY": "0", "PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_catalogue_lists_every_app(app: Path) -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert f"apps/{app.name}" in readme, f"README's catalogue does not link {app.name}"


def test_handlers_are_small(app: Path) -> None:
    """Handlers parse, delegate to a plainly named function, and return: logic lives elsewhere."""
    for handler in (app / "src").glob("*/handler.py"):
        tree = ast.parse(handler.read_text())
        lines = [n for n in ast.walk(tree) if isinstance(n, ast.stmt)]
        assert len(lines) < 150, f"{handler} has {len(lines)} statements: move logic out"


def test_outputs_name_an_execute_api_url_the_local_cloud_can_map(app: Path) -> None:
    for key, output in load_template(app).get("Outputs", {}).items():
        value = output.get("Value")
        text = value.get("Fn::Sub", "") if isinstance(value, dict) else str(value)
        for url in re.findall(r"\S*execute-api\S*", text if isinstance(text, str) else ""):
            assert re.match(
                r"^https://\$\{\w+\}\.execute-api\.\$\{AWS::Region\}\.amazonaws\.com/", url
            ), f"{key}: {url}"

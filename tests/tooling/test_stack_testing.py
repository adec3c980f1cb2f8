"""The test harness plugin: stack discovery, clear errors, and polling."""

from __future__ import annotations

import itertools
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from stack_testing import (
    MissingOutputError,
    Stack,
    StackNotFoundError,
    _describe_outputs,
    app_dir_of,
    default_stack_name,
    wait_for,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_wait_for_returns_the_first_truthy_value() -> None:
    calls = itertools.count()
    assert wait_for(lambda: next(calls) >= 2 and "done", timeout=5, interval=0.01) == "done"


def test_wait_for_names_the_condition_and_last_value_when_it_times_out() -> None:
    with pytest.raises(
        TimeoutError, match=r"item visible not met within 0\.1s \(last value: \[\]\)"
    ):
        wait_for(list, timeout=0.1, interval=0.02, description="item visible")


def test_missing_output_error_lists_the_outputs_the_stack_has() -> None:
    stack = Stack("demo", {"ApiUrl": "https://x"}, "us-east-1")
    with pytest.raises(
        MissingOutputError, match=r"stack 'demo' has no output 'Nope' \(outputs: ApiUrl\)"
    ):
        stack.output("Nope")


def test_url_maps_execute_api_urls_to_the_local_cloud() -> None:
    stack = Stack(
        "demo",
        {"ApiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com/v1"},
        "us-east-1",
        endpoint_url="http://127.0.0.1:4566",
    )
    assert stack.url("ApiUrl") == "http://127.0.0.1:4566/_aws/execute-api/abc123/v1"


def test_url_is_unchanged_against_aws() -> None:
    url = "https://abc123.execute-api.us-east-1.amazonaws.com/v1"
    assert Stack("demo", {"ApiUrl": url}, "us-east-1").url("ApiUrl") == url


@mock_aws
def test_a_missing_stack_is_reported_by_name() -> None:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    with pytest.raises(StackNotFoundError, match="stack 'ghost' does not exist"):
        _describe_outputs(cfn, "ghost")


def test_the_app_of_a_test_is_the_folder_holding_template_yaml() -> None:
    test_dir = REPO_ROOT / "apps" / "simple-web-service" / "tests" / "integration"
    assert app_dir_of(test_dir) == REPO_ROOT / "apps" / "simple-web-service"
    assert app_dir_of(Path("/")) is None


def test_stack_name_comes_from_the_root_samconfig() -> None:
    assert default_stack_name(REPO_ROOT / "apps" / "simple-web-service") == "simple-web-service"


def test_stack_name_of_an_ejected_app_comes_from_its_own_samconfig(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text("Resources: {}\n")
    (tmp_path / "samconfig.toml").write_text(
        'version = 0.1\n[default.deploy.parameters]\nstack_name = "mine"\n'
    )
    assert default_stack_name(tmp_path) == "mine"


def test_the_ready_file_appears_only_once_it_is_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The harness polls for the ready file and reads it the moment it exists: a file that is
    # created empty and then filled would be read as "" (seen in CI as a JSONDecodeError).
    from localcloud.__main__ import _write_atomically

    ready_file = tmp_path / "ready.json"
    seen_while_writing: list[bool] = []
    original_write_text = Path.write_text

    def watching_write_text(self: Path, *args: object, **kwargs: object) -> int:
        seen_while_writing.append(ready_file.exists())
        return original_write_text(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", watching_write_text)
    _write_atomically(ready_file, '{"endpoint_url": "http://127.0.0.1:1"}')

    assert seen_while_writing == [False]
    assert ready_file.read_text() == '{"endpoint_url": "http://127.0.0.1:1"}'
    assert list(tmp_path.iterdir()) == [ready_file]

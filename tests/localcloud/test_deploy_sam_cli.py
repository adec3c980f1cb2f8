"""The real ``sam deploy`` pointed at the local cloud (DESIGN.md section 5: users will try it).

SAM CLI talks to the local cloud with ``AWS_ENDPOINT_URL`` and fake credentials; it creates
its managed bucket stack, uploads artifacts, creates and executes change sets and polls the
stack (every 0.2 s with ``SAM_CLI_POLL_DELAY``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from localcloud.urls import local_execute_api_url

sys.path.insert(0, str(Path(__file__).parent))
from _cfn_helpers import FIXTURES, unique

SAM = Path(sys.executable).with_name("sam")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sam_env(local_cloud, tmp_path_factory):
    home = tmp_path_factory.mktemp("sam-home")
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": local_cloud.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SAM_CLI_POLL_DELAY": "0.2",
        "SAM_CLI_TELEMETRY": "0",
        # SAM keeps its config (installation id, metadata) under the home folder.
        "HOME": str(home),
        "LAYER_TARGET": "host",
        "PYTHON": sys.executable,
    }


def sam(env, *args, cwd):
    result = subprocess.run(
        [str(SAM), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"sam {args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def built(sam_env, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sam-work")
    build_dir = workdir / "build"  # sam build refuses a build dir that holds the cwd
    sam(
        sam_env,
        "build",
        "--template-file",
        str(FIXTURES / "cfn_app" / "template.yaml"),
        "--build-dir",
        str(build_dir),
        cwd=workdir,
    )
    return build_dir


def test_sam_deploy_update_list_and_delete(local_cloud, aws, sam_env, built):
    """sam deploy creates the stack (change set, outputs printed), deploys again with a new
    parameter (update), reports "No changes to deploy" when nothing changed, sam list
    stack-outputs reads the outputs, and sam delete removes the stack and its artifacts."""
    stack_name = unique("sam-cli")
    deploy = [
        "deploy",
        "--template-file",
        str(built / "template.yaml"),
        "--stack-name",
        stack_name,
        "--resolve-s3",
        "--no-confirm-changeset",
        "--no-fail-on-empty-changeset",
        "--capabilities",
        "CAPABILITY_IAM",
    ]
    cfn = aws("cloudformation")
    try:
        created = sam(sam_env, *deploy, "--parameter-overrides", "Greeting=hi", cwd=built.parent)
        assert f"Successfully created/updated stack - {stack_name}" in created
        listed = json.loads(
            sam(
                sam_env,
                "list",
                "stack-outputs",
                "--stack-name",
                stack_name,
                "--output",
                "json",
                cwd=built.parent,
            )
        )
        values = {o["OutputKey"]: o["OutputValue"] for o in listed}
        url = local_execute_api_url(f"{values['ApiUrl']}/greetings/lin", local_cloud.endpoint_url)
        assert requests.get(url, timeout=30).json() == {"message": "hi, lin"}

        updated = sam(sam_env, *deploy, "--parameter-overrides", "Greeting=hey", cwd=built.parent)
        assert "UPDATE_COMPLETE" in updated
        assert requests.get(url, timeout=30).json() == {"message": "hey, lin"}
        assert (
            cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]
            == "UPDATE_COMPLETE"
        )

        unchanged = sam(sam_env, *deploy, "--parameter-overrides", "Greeting=hey", cwd=built.parent)
        assert "No changes to deploy" in unchanged
    finally:
        sam(sam_env, "delete", "--stack-name", stack_name, "--no-prompts", cwd=built.parent)
    summaries = cfn.list_stacks(StackStatusFilter=["DELETE_COMPLETE"])["StackSummaries"]
    assert stack_name in [s["StackName"] for s in summaries]

"""The README's commands, run as a user runs them: `make up`, and the real `sam deploy`
pointed at the local cloud followed by the app's integration tests against that stack."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from stack_testing import wait_for

from localcloud.process import LocalCloudProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
APPS = sorted(p.parent.name for p in (REPO_ROOT / "apps").glob("*/template.yaml"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    # A user's shell: no AWS settings leaking in from the test session.
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST"))}


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.parametrize("app", APPS)
def test_make_up_serves_the_app_and_its_example_request_works(app: str, tmp_path: Path) -> None:
    """`make up APP=<app>` deploys the app and prints its outputs and an example; where the
    example is a plain curl request (API apps without request signing), it is run too."""
    port = _free_port()
    env = _env() | {"LOCALCLOUD_STATE_DIR": str(tmp_path / "state")}
    up = subprocess.Popen(
        ["make", "--no-print-directory", "up", f"APP={app}", f"PORT={port}"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert up.stdout is not None
    printed: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while not any("Press Ctrl-C" in line for line in printed):
            line = up.stdout.readline()
            assert line or up.poll() is None, "make up exited:\n" + "".join(printed)
            printed.append(line)
            assert time.monotonic() < deadline, "make up not ready:\n" + "".join(printed)
        text = "".join(printed)
        assert f"{app} is running on the local cloud at http://127.0.0.1:{port}" in text
        example = printed[printed.index("Try it:\n") + 1].strip()
        if app == "simple-web-service":
            assert f"http://127.0.0.1:{port}/_aws/execute-api/" in example
            answer = subprocess.run(
                ["bash", "-c", example], capture_output=True, text=True, timeout=60, check=False
            )
            assert re.search(r"^HTTP/1\.1 201", answer.stdout, re.MULTILINE), answer.stdout
            assert '"name":"first item"' in answer.stdout
    finally:
        os.killpg(up.pid, signal.SIGINT)
        up.wait(timeout=60)
    # Ctrl-C stops the local cloud and every Lambda worker: nothing is left running.
    wait_for(lambda: not _alive(up.pid), timeout=30, description="make up's processes gone")


@pytest.mark.slow
@pytest.mark.parametrize("app", APPS)
def test_sam_deploy_to_the_local_cloud_then_the_integration_tests_pass(
    app: str, tmp_path: Path
) -> None:
    cloud = LocalCloudProcess(tmp_path)
    endpoint = cloud.start()
    port = endpoint.rsplit(":", 1)[1]
    try:
        deployed = subprocess.run(
            ["make", "--no-print-directory", "sam-deploy-local", f"APP={app}", f"PORT={port}"],
            cwd=REPO_ROOT,
            env=_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert deployed.returncode == 0, deployed.stdout[-5000:] + deployed.stderr[-3000:]
        assert "Successfully created/updated stack" in deployed.stdout + deployed.stderr
        tested = subprocess.run(
            ["make", "--no-print-directory", "integration-local", f"APP={app}", f"PORT={port}"],
            cwd=REPO_ROOT,
            env=_env() | {"PYTEST_ADDOPTS": "-p no:cacheprovider"},
            capture_output=True,
            text=True,
            check=False,
        )
        summary = tested.stdout.strip().splitlines()[-1] if tested.stdout.strip() else ""
        assert tested.returncode == 0, tested.stdout[-6000:] + tested.stderr[-2000:]
        assert " passed" in summary
        assert "skipped" not in summary
    finally:
        cloud.stop()


def test_python_runs_the_cli_module() -> None:
    """`python -m localcloud --help` lists the commands the README documents."""
    result = subprocess.run(
        [sys.executable, "-m", "localcloud", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("serve", "up", "deploy", "delete"):
        assert command in result.stdout

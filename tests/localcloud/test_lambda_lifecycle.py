"""Execution environments end when Lambda would end them, and never outlive the local cloud."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from stack_testing import wait_for

from localcloud.awslambda.model import ArtifactRef, FunctionConfig, InvokeRequest
from localcloud.awslambda.runtime import LambdaRuntime

SPAWNER = """
    import os
    import subprocess

    def handler(event, context):
        child = subprocess.Popen(["sleep", "300"])  # outlives the invocation on purpose
        return {"worker": os.getpid(), "child": child.pid}
"""


def _gone(pid: int) -> bool:
    """No such process, or only a zombie waiting for its new parent to reap it."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "Z" in state.split()[1]


def test_deleting_a_function_stops_its_environments(aws, make_function, invoke):
    """DeleteFunction ends the function's execution environments and what they started."""
    name = make_function(SPAWNER)
    pids = invoke(name, {}).payload

    aws("lambda").delete_function(FunctionName=name)

    wait_for(lambda: _gone(pids["worker"]), timeout=10, description="worker process gone")
    wait_for(lambda: _gone(pids["child"]), timeout=10, description="its child process gone")


def test_outdated_environment_is_stopped_after_a_code_update(aws, make_function, invoke, zip_files):
    """After UpdateFunctionCode the old environment is retired, not kept idle."""
    name = make_function(SPAWNER)
    old = invoke(name, {}).payload

    aws("lambda").update_function_code(
        FunctionName=name, ZipFile=zip_files({"app.py": SPAWNER.replace("300", "301")})
    )

    wait_for(lambda: _gone(old["worker"]), timeout=10, description="old worker gone")


_STOP_SCRIPT = r"""
import io, json, sys, zipfile
from pathlib import Path

import boto3

from localcloud.server import LocalCloud

cloud = LocalCloud(state_dir=Path(sys.argv[1]))
cloud.start()
session = boto3.session.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
)
lam = session.client("lambda", endpoint_url=cloud.endpoint_url)
role = session.client("iam", endpoint_url=cloud.endpoint_url).create_role(
    RoleName="stop-test", AssumeRolePolicyDocument="{}"
)["Role"]["Arn"]
package = io.BytesIO()
with zipfile.ZipFile(package, "w") as archive:
    archive.writestr("app.py", sys.argv[2])
for name in ("first", "second"):
    lam.create_function(
        FunctionName=name, Runtime="python3.13", Role=role, Handler="app.handler",
        Code={"ZipFile": package.getvalue()},
    )
pids = [json.loads(lam.invoke(FunctionName=n)["Payload"].read()) for n in ("first", "second")]
cloud.stop()
print(json.dumps(pids), flush=True)
"""


def test_stop_leaves_no_worker_process(tmp_path: Path):
    """LocalCloud.stop() ends every worker and every process a handler started.

    Run in a separate process: a second local cloud must not share this session's moto.
    """
    finished = subprocess.run(
        [sys.executable, "-c", _STOP_SCRIPT, str(tmp_path), textwrap.dedent(SPAWNER)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    pids = json.loads(finished.stdout.strip().splitlines()[-1])

    every_pid = [pid for pair in pids for pid in (pair["worker"], pair["child"])]
    wait_for(
        lambda: all(_gone(pid) for pid in every_pid),
        timeout=10,
        description=f"processes {every_pid} gone",
    )


def test_idle_environment_is_reclaimed(tmp_path: Path, zip_files):
    """An environment left idle is shut down after a while (Lambda reclaims idle ones)."""
    code_zip = zip_files(
        {"app.py": "import os\ndef handler(event, context):\n    return os.getpid()\n"}
    )
    runtime = LambdaRuntime(
        tmp_path, "http://127.0.0.1:9", log_writer=lambda *args: None, idle_seconds=0.2
    )
    runtime.start()
    try:
        config = FunctionConfig(
            account_id="123456789012",
            region="us-east-1",
            name="idle",
            version="$LATEST",
            arn="arn:aws:lambda:us-east-1:123456789012:function:idle",
            handler="app.handler",
            runtime="python3.13",
            timeout=3,
            memory_size=128,
            environment={},
            code=ArtifactRef(hashlib.sha256(code_zip).hexdigest(), lambda: code_zip),
        )
        pid = json.loads(runtime.invoke(config, InvokeRequest()).payload)

        wait_for(lambda: _gone(pid), timeout=10, description="idle worker reclaimed")
        assert runtime.workers() == []
    finally:
        runtime.stop()

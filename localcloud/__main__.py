"""Command line of the local cloud.

python -m localcloud serve [--port 4566]      run the local cloud until interrupted
python -m localcloud deploy APP [--endpoint-url URL] [--stack-name NAME]
python -m localcloud delete APP [--endpoint-url URL] [--stack-name NAME]
python -m localcloud up [APP] [--port 4566]   serve, deploy APP, print how to call it
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from localcloud.server import LocalCloud

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_APP = "simple-web-service"
DEFAULT_PORT = 4566


def _app_dir(app: str) -> Path:
    folder = Path(app) if os.sep in app else REPO_ROOT / "apps" / app
    if not (folder / "template.yaml").is_file():
        known = sorted(p.name for p in (REPO_ROOT / "apps").iterdir() if p.is_dir())
        raise SystemExit(f"no app {app!r}: expected {folder}/template.yaml (apps: {known})")
    return folder.resolve()


def _serve_until_signal(cloud: LocalCloud, on_ready: list[str] | None = None) -> None:
    stop = threading.Event()

    def _handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _handle)
    signal.signal(signal.SIGINT, _handle)
    for line in on_ready or []:
        print(line, flush=True)
    try:
        stop.wait()
    finally:
        cloud.stop()


def _start(args: argparse.Namespace) -> LocalCloud:
    state_dir = Path(args.state_dir) if args.state_dir else None
    cloud = LocalCloud(host=args.host, port=args.port, state_dir=state_dir)
    cloud.start()
    return cloud


def _write_atomically(path: Path, text: str) -> None:
    """Write then rename, so a reader polling for the file never sees it half written."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


def cmd_serve(args: argparse.Namespace) -> int:
    cloud = _start(args)
    if args.ready_file:
        _write_atomically(
            Path(args.ready_file),
            json.dumps({"endpoint_url": cloud.endpoint_url, "pid": os.getpid()}),
        )
    _serve_until_signal(cloud, [f"local cloud ready at {cloud.endpoint_url}"])
    return 0


def _stack_name(app_dir: Path, given: str | None) -> str:
    from localcloud.samconfig import deploy_settings

    return given or deploy_settings(app_dir).stack_name


def cmd_deploy(args: argparse.Namespace) -> int:
    from localcloud.deploy import deploy_app

    app_dir = _app_dir(args.app)
    outputs = deploy_app(
        app_dir, endpoint_url=args.endpoint_url, stack_name=_stack_name(app_dir, args.stack_name)
    )
    print(json.dumps(outputs, indent=2))
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from localcloud.deploy import delete_app

    app_dir = _app_dir(args.app)
    delete_app(endpoint_url=args.endpoint_url, stack_name=_stack_name(app_dir, args.stack_name))
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from localcloud.deploy import deploy_app
    from localcloud.urls import local_execute_api_url

    app_dir = _app_dir(args.app)
    cloud = _start(args)
    try:
        stack_name = _stack_name(app_dir, None)
        outputs = deploy_app(app_dir, endpoint_url=cloud.endpoint_url, stack_name=stack_name)
    except BaseException:
        cloud.stop()
        raise
    lines = [
        f"{app_dir.name} is running on the local cloud at {cloud.endpoint_url}",
        f"stack {stack_name} outputs:",
    ]
    local = {
        key: local_execute_api_url(value, cloud.endpoint_url) for key, value in outputs.items()
    }
    lines += [f"  {key} = {value}" for key, value in sorted(local.items())]
    if "ExampleRequest" in local:
        lines += ["", "Try it:", f"  {local['ExampleRequest']}"]
    lines += [
        "",
        "Use it with any AWS tool, e.g.:",
        f"  export AWS_ENDPOINT_URL={cloud.endpoint_url} AWS_DEFAULT_REGION=us-east-1 "
        "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing",
        f"  aws cloudformation describe-stacks --stack-name {stack_name}",
        f"Run its integration tests against it: make integration-local APP={app_dir.name}",
        "Press Ctrl-C to stop.",
    ]
    _serve_until_signal(cloud, lines)
    return 0


def main(argv: list[str] | None = None) -> int:
    level = os.environ.get("LOCALCLOUD_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # werkzeug logs every request at INFO and samtranslator warns about its own feature
    # toggles: both drown what `up` prints unless a lower level is asked for.
    asked = logging.getLevelName(level)
    for noisy in ("werkzeug", "samtranslator"):
        logging.getLogger(noisy).setLevel(asked if asked <= logging.INFO else logging.ERROR)
    parser = argparse.ArgumentParser(prog="localcloud", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def server_options(cmd: argparse.ArgumentParser, port: int) -> None:
        cmd.add_argument("--host", default="127.0.0.1")
        cmd.add_argument("--port", type=int, default=port, help="0 picks a free port")
        cmd.add_argument("--state-dir", help="working files (default .localcloud/)")

    serve = commands.add_parser("serve", help="run the local cloud until interrupted")
    server_options(serve, DEFAULT_PORT)
    serve.add_argument("--ready-file", help="write {endpoint_url, pid} here once ready")
    serve.set_defaults(func=cmd_serve)

    up = commands.add_parser("up", help="serve, deploy an app, print its outputs")
    up.add_argument("app", nargs="?", default=DEFAULT_APP)
    server_options(up, DEFAULT_PORT)
    up.set_defaults(func=cmd_up)

    for name, func in (("deploy", cmd_deploy), ("delete", cmd_delete)):
        cmd = commands.add_parser(name, help=f"{name} an app's stack on a running local cloud")
        cmd.add_argument("app")
        cmd.add_argument("--endpoint-url", default=f"http://127.0.0.1:{DEFAULT_PORT}")
        cmd.add_argument("--stack-name")
        cmd.set_defaults(func=func)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

"""Replay an app's failed work from its failure queue, once the cause is fixed.

    python tools/redrive.py <app> [--stack-name NAME] [--region REGION]
                            [--max-messages N] [--dry-run]

``make redrive APP=<app> [STACK=<name>]`` runs it. ``<app>`` is an app of this repository
(``apps/<app>``) or the folder of an app (an ejected project: ``.``). The stack is
``--stack-name``, else the one ``samconfig.toml`` names for the app (the repository root's
``[<app>.deploy.parameters]``, or an ejected project's own ``[default.deploy.parameters]``),
else the app's folder name.

The stack's outputs say what to replay, by convention:

- ``RedriveQueueUrl``: the queue holding the failures (a dead-letter queue, or the SQS
  on-failure destination of a function invoked asynchronously). And one of:
- ``RedriveTargetQueueUrl``: the SQS queue the failures came from. Every message is moved
  back to it (``common_layer.failures.redrive``: the layer's DLQ envelope unwrapped, sent
  before it is deleted).
- ``RedriveTargetFunctionName``: the function whose asynchronous invocations failed. Every
  message is a Lambda invocation record; the function is invoked again with
  ``InvocationType=Event`` and the record's ``requestPayload``, and the message is deleted
  only once Lambda accepted the invoke (202). A record of another function, a message that
  is not a record, and a record written after this run started (a replay that failed again)
  are left in the queue and listed.

``AWS_ENDPOINT_URL`` is honoured, so the same command replays on the local cloud of
``make up``. It prints how many messages it replayed; the exit status is 0 when nothing it
saw was left behind, 1 when something was (see the list printed), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

REPO_ROOT = Path(__file__).resolve().parent.parent
# Where the common layer's package lives: this repository, or an ejected project.
LAYER_DIRS = (REPO_ROOT / "shared" / "layer", REPO_ROOT / "layer")

QUEUE_OUTPUT = "RedriveQueueUrl"
TARGET_QUEUE_OUTPUT = "RedriveTargetQueueUrl"
TARGET_FUNCTION_OUTPUT = "RedriveTargetFunctionName"

LOCAL_CREDENTIALS = ("testing", "testing")  # access key id, secret: anything will do
LOCAL_REGION = "us-east-1"
# Messages received in a run stay hidden this long, so one run never sees them twice.
VISIBILITY_SECONDS = 120


class UsageError(Exception):
    """The app, its stack or its outputs are not what the tool needs (exit status 2)."""


@dataclass
class ReplayReport:
    """What a run did: how many messages it replayed, and what it left in the queue and why."""

    replayed: int = 0
    left: list[str] = field(default_factory=list)
    would_replay: list[str] = field(default_factory=list)


# --- finding the app, its stack and its outputs ------------------------------------------


def app_dir(app: str) -> Path:
    """``apps/<app>`` of this repository, a folder holding a template, or an ejected project."""
    candidates = [REPO_ROOT / "apps" / app, Path(app)]
    if REPO_ROOT.name == app or Path(app).resolve() == REPO_ROOT:
        candidates.append(REPO_ROOT)
    for candidate in candidates:
        if (candidate / "template.yaml").is_file():
            return candidate.resolve()
    raise UsageError(f"no app {app!r}: expected apps/{app}/template.yaml or a folder with one")


def default_stack_name(app: Path) -> str:
    """The stack name samconfig gives the app; the folder name when there is none."""
    own = app / "samconfig.toml"
    if own.is_file():
        env = _load_toml(own).get("default", {})
        return _stack_name(env, app.name)
    for folder in app.parents:
        root = folder / "samconfig.toml"
        if root.is_file():
            return _stack_name(_load_toml(root).get(app.name, {}), app.name)
    return app.name


def _stack_name(env: dict[str, Any], fallback: str) -> str:
    for command in ("deploy", "global"):
        name = env.get(command, {}).get("parameters", {}).get("stack_name")
        if name:
            return str(name)
    return fallback


def _load_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def _is_local(endpoint_url: str | None) -> bool:
    return bool(endpoint_url) and any(
        host in str(endpoint_url) for host in ("://127.", "://localhost", "://[::1]")
    )


def session(endpoint_url: str | None, region: str | None) -> Any:
    """A boto3 session for the target: any credentials do for the local cloud."""
    import boto3

    if _is_local(endpoint_url):
        key_id, secret = LOCAL_CREDENTIALS
        return boto3.session.Session(
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            region_name=region or LOCAL_REGION,
        )
    return boto3.session.Session(region_name=region)


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            raise UsageError(
                f"stack {stack_name!r} does not exist here: deploy it first, or pass --stack-name"
            ) from None
        raise
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


# --- replaying -----------------------------------------------------------------------------


def _import_failures() -> Any:
    try:
        import common_layer.failures as failures
    except ModuleNotFoundError:
        for folder in LAYER_DIRS:
            if (folder / "common_layer").is_dir() and str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
        import common_layer.failures as failures
    return failures


def _function_name(name_or_arn: str) -> str:
    """``arn:aws:lambda:region:account:function:name[:qualifier]`` or a name -> the name."""
    parts = name_or_arn.split(":")
    return parts[6] if name_or_arn.startswith("arn:") and len(parts) > 6 else name_or_arn


def _recorded_at(timestamp: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def replay_async_failures(
    sqs: SQSClient,
    lambda_client: LambdaClient,
    queue_url: str,
    function_name: str,
    *,
    max_messages: int | None = None,
    dry_run: bool = False,
    wait_seconds: int = 1,
    started_at: datetime | None = None,
) -> ReplayReport:
    """Invoke ``function_name`` again (``Event``) with each failure record's request payload.

    A message is deleted only after Lambda accepted the invoke, so a crash midway replays a
    job twice at worst (the function must be idempotent, as every async target must be),
    never loses one. What cannot be replayed stays in the queue, visible again at the end.
    """
    failures = _import_failures()
    started_at = started_at or datetime.now(UTC)
    target = _function_name(function_name)
    report = ReplayReport()
    seen: set[str] = set()
    keep: list[MessageTypeDef] = []
    try:
        while True:
            done = report.replayed + len(report.would_replay)
            if max_messages is not None and done >= max_messages:
                break
            batch = 10 if max_messages is None else min(10, max_messages - done)
            messages = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=batch,
                WaitTimeSeconds=wait_seconds,
                VisibilityTimeout=VISIBILITY_SECONDS,
            ).get("Messages", [])
            fresh = [m for m in messages if m["MessageId"] not in seen]
            if not fresh:
                break
            for message in fresh:
                seen.add(message["MessageId"])
                record, problem = _replayable(failures, target, message, started_at)
                if problem is None and dry_run:
                    report.would_replay.append(_describe(message))
                    keep.append(message)
                    continue
                if problem is None:
                    problem = _invoke(sqs, lambda_client, queue_url, target, message, record)
                if problem is None:
                    report.replayed += 1
                else:
                    report.left.append(f"{message['MessageId']}: {problem}")
                    keep.append(message)
    finally:
        # Visible again at once: the next run (or a person) must not wait for the timeout.
        for message in keep:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    return report


def _replayable(
    failures: Any, target: str, message: MessageTypeDef, started_at: datetime
) -> tuple[Any, str | None]:
    """The message's invocation record, and why it must stay in the queue (None: replay it)."""
    try:
        record = failures.parse_async_failure(message["Body"])
    except ValueError as error:
        return None, f"not a Lambda invocation record ({error})"
    if _function_name(record.function_arn) != target:
        return record, f"a record of function {record.function_name}, not {target}"
    recorded_at = _recorded_at(record.timestamp)
    if recorded_at is not None and recorded_at >= started_at:
        return record, "failed again after this replay started; fix the cause, then run again"
    return record, None


def _invoke(
    sqs: SQSClient,
    lambda_client: LambdaClient,
    queue_url: str,
    target: str,
    message: MessageTypeDef,
    record: Any,
) -> str | None:
    """Hand the record's payload to the function again; delete the message once accepted."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = lambda_client.invoke(
            FunctionName=target,
            InvocationType="Event",
            Payload=json.dumps(record.request_payload).encode(),
        )
    except (BotoCoreError, ClientError) as error:
        return f"invoke failed: {error}"
    if response["StatusCode"] != 202:
        return f"invoke answered {response['StatusCode']}, not 202"
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return None


def _describe(message: MessageTypeDef) -> str:
    try:
        record = json.loads(message["Body"])
        context = record.get("requestContext", {})
        payload = json.dumps(record.get("requestPayload"))
    except (ValueError, AttributeError):
        return message["MessageId"]
    if len(payload) > 200:
        payload = payload[:197] + "..."
    return f"{context.get('requestId')} ({context.get('condition')}): {payload}"


def replay_to_queue(
    sqs: SQSClient, queue_url: str, source_url: str, *, max_messages: int | None = None
) -> ReplayReport:
    """Move every message of the failure queue back to its source queue."""
    failures = _import_failures()
    if max_messages is None:
        # A guard against cycling: messages that fail again may come back while this runs.
        attributes = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        max_messages = max(int(attributes.get("ApproximateNumberOfMessages", "0")), 1)
    try:
        moved = failures.redrive(sqs, queue_url, source_url, max_messages=max_messages)
    except failures.RedriveError as error:
        return ReplayReport(replayed=error.moved, left=list(error.failures))
    return ReplayReport(replayed=moved)


# --- command line --------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="redrive.py",
        description="Replay an app's failed work from its failure queue (RedriveQueueUrl).",
    )
    parser.add_argument("app", help="an app of apps/, or the folder of an (ejected) app")
    parser.add_argument("--stack-name", help="the stack (default: the app's, from samconfig)")
    parser.add_argument("--region", help="default: AWS_REGION / AWS_DEFAULT_REGION / profile")
    parser.add_argument("--max-messages", type=int, help="replay at most this many")
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be replayed; change nothing"
    )
    return parser.parse_args(list(argv))


def run(args: argparse.Namespace) -> int:
    folder = app_dir(args.app)
    stack_name = args.stack_name or default_stack_name(folder)
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    aws = session(endpoint, region)
    outputs = stack_outputs(aws.client("cloudformation", endpoint_url=endpoint), stack_name)
    queue_url = outputs.get(QUEUE_OUTPUT)
    if not queue_url or not (
        outputs.get(TARGET_QUEUE_OUTPUT) or outputs.get(TARGET_FUNCTION_OUTPUT)
    ):
        known = ", ".join(sorted(outputs)) or "none"
        raise UsageError(
            f"stack {stack_name!r} does not say what to replay: it needs the output "
            f"{QUEUE_OUTPUT} and one of {TARGET_QUEUE_OUTPUT}, {TARGET_FUNCTION_OUTPUT} "
            f"(outputs: {known})"
        )
    sqs = aws.client("sqs", endpoint_url=endpoint)
    target_function = outputs.get(TARGET_FUNCTION_OUTPUT)
    if target_function:
        report = replay_async_failures(
            sqs,
            aws.client("lambda", endpoint_url=endpoint),
            queue_url,
            target_function,
            max_messages=args.max_messages,
            dry_run=args.dry_run,
        )
        target = f"function {target_function} (InvocationType=Event)"
    elif args.dry_run:
        raise UsageError("--dry-run is only supported for a function target")
    else:
        report = replay_to_queue(
            sqs, queue_url, outputs[TARGET_QUEUE_OUTPUT], max_messages=args.max_messages
        )
        target = f"queue {outputs[TARGET_QUEUE_OUTPUT]}"
    if args.dry_run:
        print(f"would replay {len(report.would_replay)} message(s) from {queue_url} to {target}")
        for line in report.would_replay:
            print(f"  {line}")
    else:
        print(f"replayed {report.replayed} message(s) from {queue_url} to {target}")
    if report.left:
        print(f"left {len(report.left)} message(s) in {queue_url}:")
        for line in report.left:
            print(f"  {line}")
    return 1 if report.left else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except UsageError as error:
        print(f"redrive: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""Fixtures for the eventually consistent unit tests: REST v1 events, DynamoDB stream records,
a moto DynamoDB table and SQS queue, and in-memory fakes of the PostgreSQL copy and the
RDS Data API (moto's Data API answers canned results, so it cannot play a database)."""

from __future__ import annotations

import importlib
import json
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

if TYPE_CHECKING:
    # Only for annotations: conftest loads before the plugin puts the app's src on sys.path.
    from crm_replicator.replication import Purge, Unmappable, Upsert

REGION = "us-east-1"
ACCOUNT = "123456789012"
STAGE = "v1"
TABLE_NAME = "eventually-consistent-accounts-unit"
STREAM_ARN = (
    f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE_NAME}/stream/2026-11-23T10:00:00.000"
)
CLUSTER_ARN = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:reporting"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:reporting-AbCdEf"


@dataclass
class FakeLambdaContext:
    function_name: str = "eventually-consistent-Function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:eventually-consistent-Function"
    )
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


_ROUTES = (
    (re.compile(r"^/accounts/([^/]+)$"), "/accounts/{account_id}"),
    (re.compile(r"^/reports/accounts/([^/]+)$"), "/reports/accounts/{account_id}"),
    (re.compile(r"^/reports/plans$"), "/reports/plans"),
)


def build_rest_event(
    method: str, path: str, *, body: str | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The REST (v1) proxy event API Gateway sends for this app's resources."""
    resource, parameters = path, None
    for pattern, name in _ROUTES:
        match = pattern.match(path)
        if match:
            resource = name
            parameters = {"account_id": match.group(1)} if match.groups() else None
            break
    all_headers = {"Host": "abc123.execute-api.us-east-1.amazonaws.com", **(headers or {})}
    if body is not None:
        all_headers.setdefault("Content-Type", "application/json")
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "abc123",
            "httpMethod": method,
            "identity": {"sourceIp": "203.0.113.10", "userAgent": "pytest"},
            "path": f"/{STAGE}{path}",
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": 1_795_000_000_000,
            "resourceId": "res123",
            "resourcePath": resource,
            "stage": STAGE,
        },
        "body": body,
        "isBase64Encoded": False,
    }


def _typed(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    return {"S": value}


_sequence = iter(range(100_000_000_000_000_000_000, 200_000_000_000_000_000_000))


def stream_record(
    event_name: str,
    account_id: str,
    *,
    new: dict[str, Any] | None = None,
    old: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One DynamoDB stream record as the event source mapping delivers it.

    ``new``/``old`` are plain values; they become DynamoDB JSON (a string, a number or a bool).
    """
    details: dict[str, Any] = {
        "ApproximateCreationDateTime": 1_795_000_000.0,
        "Keys": {"account_id": {"S": account_id}},
        "SequenceNumber": str(next(_sequence)),
        "SizeBytes": 120,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        details["NewImage"] = {
            name: _typed(v) for name, v in {"account_id": account_id, **new}.items()
        }
    if old is not None:
        details["OldImage"] = {
            name: _typed(v) for name, v in {"account_id": account_id, **old}.items()
        }
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": details,
        "eventSourceARN": STREAM_ARN,
    }


def live(version: int, name: str = "Acme", plan: str = "team") -> dict[str, Any]:
    """A live account image at ``version``."""
    return {
        "name": name,
        "email": "billing@acme.example",
        "plan": plan,
        "version": version,
        "updated_at": f"2026-11-23T10:00:{version:02d}.000Z",
    }


def tombstone(version: int) -> dict[str, Any]:
    return {
        "deleted": True,
        "version": version,
        "updated_at": f"2026-11-23T10:00:{version:02d}.000Z",
        "expires_at": 1_795_600_000,
    }


class InMemoryReadModel:
    """``ReadModel`` in a dict, with the copy's newest-version-wins rule."""

    def __init__(self) -> None:
        self.rows: dict[str, Upsert] = {}
        self.migrations = 0
        self.statements = 0
        self.fail_for: set[str] = set()

    def ensure_schema(self) -> None:
        self.migrations += 1

    def upsert(self, change: Upsert) -> bool:
        self.statements += 1
        if change.account_id in self.fail_for:
            raise ConnectionError("database unavailable")
        current = self.rows.get(change.account_id)
        if current is not None and current.version >= change.version:
            return False
        self.rows[change.account_id] = change
        return True

    def purge(self, change: Purge) -> bool:
        self.statements += 1
        current = self.rows.get(change.account_id)
        if current is None or (change.version is not None and current.version > change.version):
            return False
        del self.rows[change.account_id]
        return True


@dataclass
class Parked:
    record: dict[str, Any]
    reason: str


class InMemoryDeadLetters:
    def __init__(self) -> None:
        self.parked: list[Parked] = []

    def park(self, record: Any, reason: Unmappable) -> str:
        self.parked.append(Parked(dict(record), str(reason)))
        return str(uuid.uuid4())


class FakeDataApi:
    """Records ``execute_statement`` calls and answers from a queue of canned responses or
    errors (exceptions are raised)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.answers: list[Any] = []

    def execute_statement(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        answer = self.answers.pop(0) if self.answers else {"numberOfRecordsUpdated": 1}
        if isinstance(answer, BaseException):
            raise answer
        return dict(answer)


@pytest.fixture
def model() -> InMemoryReadModel:
    return InMemoryReadModel()


@pytest.fixture
def dead_letters() -> InMemoryDeadLetters:
    return InMemoryDeadLetters()


@pytest.fixture
def data_api() -> FakeDataApi:
    return FakeDataApi()


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_SERVICE_NAME": "eventually-consistent",
        "POWERTOOLS_METRICS_NAMESPACE": "EventuallyConsistent",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
        "DATABASE_CLUSTER_ARN": CLUSTER_ARN,
        "DATABASE_SECRET_ARN": SECRET_ARN,
        "DATABASE_NAME": "reporting",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def moto(aws_environment: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def accounts_table(moto: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    resource = boto3.resource("dynamodb", region_name=REGION)
    table = resource.create_table(
        TableName=TABLE_NAME,
        AttributeDefinitions=[{"AttributeName": "account_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "account_id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("ACCOUNTS_TABLE_NAME", TABLE_NAME)
    return table


@pytest.fixture
def sqs(moto: None) -> Any:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def dead_letter_queue_url(sqs: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    url = str(sqs.create_queue(QueueName="accounts-dlq")["QueueUrl"])
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", url)
    return url


def fresh_import(name: str) -> ModuleType:
    """Import a handler module anew, so its module-level clients bind to the current moto."""
    sys.modules.pop(name, None)
    return importlib.import_module(name)


@pytest.fixture
def accounts_module(accounts_table: Any) -> Iterator[ModuleType]:
    yield fresh_import("crm_accounts.handler")
    sys.modules.pop("crm_accounts.handler", None)


@pytest.fixture
def replicator_module(
    monkeypatch: pytest.MonkeyPatch, dead_letter_queue_url: str, model: InMemoryReadModel
) -> Iterator[ModuleType]:
    """The replicator handler, its DLQ on moto SQS and its database played by ``model``."""
    module = fresh_import("crm_replicator.handler")
    monkeypatch.setattr(module, "_model", model)
    yield module
    sys.modules.pop("crm_replicator.handler", None)


@pytest.fixture
def reports_module(moto: None) -> Iterator[ModuleType]:
    yield fresh_import("crm_reports.handler")
    sys.modules.pop("crm_reports.handler", None)


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: str | None

    def json(self) -> Any:
        assert self.body is not None, "response has no body"
        return json.loads(self.body)

    @property
    def message(self) -> str:
        return str(self.json()["message"])


def call_api(module: ModuleType, event: dict[str, Any]) -> ApiResponse:
    """Hand a REST event to a handler module and read the answer as API Gateway would."""
    result = module.lambda_handler(event, FakeLambdaContext())
    headers = {name.lower(): value for name, value in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.setdefault(name.lower(), ", ".join(values))
    return ApiResponse(status=result["statusCode"], headers=headers, body=result.get("body"))


# The helpers as fixtures: with --import-mode=importlib, test modules cannot import conftest.


@pytest.fixture
def rest_event() -> Callable[..., dict[str, Any]]:
    return build_rest_event


@pytest.fixture
def make_record() -> Callable[..., dict[str, Any]]:
    return stream_record


@pytest.fixture
def live_image() -> Callable[..., dict[str, Any]]:
    return live


@pytest.fixture
def tombstone_image() -> Callable[[int], dict[str, Any]]:
    return tombstone


@pytest.fixture
def api() -> Callable[[ModuleType, dict[str, Any]], ApiResponse]:
    return call_api


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()

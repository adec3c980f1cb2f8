"""Fakes for the reporting engine's unit tests: a Redis client, the Data API, REST events.

The handlers create their Redis client at import (cold start); ``handlers`` imports them
with ``reporting_common.cache.connect`` replaced, so they talk to ``FakeRedis`` instead.
"""

from __future__ import annotations

import importlib
import json
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest


class FakeRedisError(Exception):
    """Stands for redis-py's RedisError (ConnectionError, TimeoutError...)."""


class FakeRedis:
    """The redis-py calls the app makes, on a dict; ``down`` makes every call fail."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.ttls: dict[str, int | None] = {}
        self.down = False
        self.failing: set[str] = set()
        self.calls: list[str] = []

    def _check(self, command: str) -> None:
        self.calls.append(command)
        if command in self.failing:
            raise FakeRedisError(f"{command}: OOM command not allowed")
        if self.down:
            raise FakeRedisError("Error 111 connecting to cache:6379. Connection refused.")

    def get(self, name: str) -> str | None:
        self._check("GET")
        return self.values.get(name)

    def set(self, name: str, value: str, ex: int | None = None) -> bool:
        self._check("SET")
        self.values[name] = value
        self.ttls[name] = ex
        return True

    def delete(self, *names: str) -> int:
        self._check("DEL")
        return sum(1 for name in names if self.values.pop(name, None) is not None)


@dataclass
class FakeDataApi:
    """``execute_statement`` answering from ``rows`` (report_name, period) -> [(label, value)]."""

    rows: dict[tuple[str, str], list[tuple[str, float]]] = field(default_factory=dict)
    statements: list[dict[str, Any]] = field(default_factory=list)
    table_exists: bool = True

    def execute_statement(self, **kwargs: Any) -> Mapping[str, Any]:
        from botocore.exceptions import ClientError

        self.statements.append(kwargs)
        sql = kwargs["sql"]
        values = {p["name"]: next(iter(p["value"].values())) for p in kwargs["parameters"]}
        if "CREATE TABLE" in sql:
            self.table_exists = True
            return {"numberOfRecordsUpdated": 0}
        if not self.table_exists:
            raise ClientError(
                {
                    "Error": {
                        "Code": "BadRequestException",
                        "Message": 'ERROR: relation "report_rows" does not exist',
                    }
                },
                "ExecuteStatement",
            )
        if sql.lstrip().startswith("SELECT"):
            found = sorted(self.rows.get((values["name"], values["period"]), []))
            return {
                "records": [
                    [{"stringValue": label}, {"doubleValue": value}] for label, value in found
                ]
            }
        if sql.startswith("INSERT"):
            key = (values["name"], values["period"])
            current = dict(self.rows.get(key, []))
            index = 0
            while f"label{index}" in values:
                current[values[f"label{index}"]] = values[f"value{index}"]
                index += 1
            self.rows[key] = list(current.items())
            return {"numberOfRecordsUpdated": index}
        raise AssertionError(f"unexpected SQL: {sql}")


@dataclass
class FakeLambdaContext:
    function_name: str = "read-heavy-reporting-engine-ReportReaderFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:read-heavy-reporting-engine-Reader"
    )
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def rest_event(
    method: str,
    path: str,
    resource: str,
    path_parameters: dict[str, str],
    *,
    query: dict[str, str] | None = None,
    body: Any = None,
) -> dict[str, Any]:
    """A REST (v1) proxy event as API Gateway sends it for this app's resources."""
    headers = {"Host": "abc123.execute-api.us-east-1.amazonaws.com"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "httpMethod": method,
            "identity": {"sourceIp": "203.0.113.10"},
            "path": f"/v1{path}",
            "requestId": str(uuid.uuid4()),
            "resourcePath": resource,
            "stage": "v1",
        },
        "body": None if body is None else (body if isinstance(body, str) else json.dumps(body)),
        "isBase64Encoded": False,
    }


@pytest.fixture
def fake_redis() -> FakeRedis:
    return FakeRedis()


MakeCache = Callable[..., Any]


@pytest.fixture
def make_cache(fake_redis: FakeRedis) -> MakeCache:
    """``make_cache(cooldown_seconds=0.0, monotonic=...)``: a RedisReportCache on fake_redis."""
    from reporting_common.cache import RedisReportCache

    def make(**options: Any) -> Any:
        options.setdefault("cooldown_seconds", 0.0)
        return RedisReportCache(fake_redis, errors=(FakeRedisError,), **options)

    return make


@pytest.fixture
def make_store(data_api: FakeDataApi) -> Callable[[], Any]:
    """A DataApiReportStore on the fake Data API."""
    from reporting_common.database import DataApiReportStore

    return lambda: DataApiReportStore(data_api, cluster_arn="c", secret_arn="s", database="reports")


@pytest.fixture
def data_api() -> FakeDataApi:
    return FakeDataApi()


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "CACHE_ENDPOINT": "cache.example.internal",
        "CACHE_PORT": "6379",
        "CACHE_TLS": "true",
        "CACHE_TTL_SECONDS": "30",
        "DATABASE_CLUSTER_ARN": "arn:aws:rds:us-east-1:123456789012:cluster:reports",
        "DATABASE_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:reports",
        "DATABASE_NAME": "reports",
        "CHANGE_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:report-changes",
        "POWERTOOLS_SERVICE_NAME": "reporting-engine",
        "POWERTOOLS_METRICS_NAMESPACE": "ReadHeavyReportingEngine",
        "POWERTOOLS_TRACE_DISABLED": "true",
        # INFO, as deployed: a log call that breaks (a reserved key in ``extra``) must fail here.
        "LOG_LEVEL": "INFO",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


LoadHandler = Callable[[str], ModuleType]


@pytest.fixture
def load_handler(
    aws_environment: None,
    fake_redis: FakeRedis,
    data_api: FakeDataApi,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[LoadHandler]:
    """Import a handler afresh, its cache on ``fake_redis`` and its database on ``data_api``."""
    from reporting_common import cache

    connections: list[dict[str, Any]] = []

    def fake_connect(host: str, port: int, **options: Any) -> cache.RedisReportCache:
        connections.append({"host": host, "port": port, **options})
        return cache.RedisReportCache(
            fake_redis,
            errors=(FakeRedisError,),
            cooldown_seconds=options.get("cooldown_seconds", 0.0),
        )

    monkeypatch.setattr(cache, "connect", fake_connect)
    loaded: list[str] = []

    def load(module_name: str) -> ModuleType:
        sys.modules.pop(module_name, None)
        module = importlib.import_module(module_name)
        loaded.append(module_name)
        store = getattr(module, "_store", None)
        if store is not None:
            monkeypatch.setattr(store, "_client", data_api)
        module.connections = connections  # type: ignore[attr-defined]
        return module

    yield load
    for name in loaded:
        sys.modules.pop(name, None)


def response_of(result: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    """(status, lower-cased headers, parsed JSON body) of a proxy integration result."""
    headers = {name.lower(): value for name, value in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.setdefault(name.lower(), ", ".join(values))
    body = json.loads(result["body"]) if result.get("body") else None
    return result["statusCode"], headers, body


@pytest.fixture
def make_event() -> Callable[..., dict[str, Any]]:
    """``make_event(method, path, resource, path_parameters, query=..., body=...)``."""
    return rest_event


@pytest.fixture
def call() -> Callable[[ModuleType, dict[str, Any]], Any]:
    """Invoke a handler with an event: its raw result."""
    return lambda handler, event: handler.lambda_handler(event, FakeLambdaContext())


@pytest.fixture
def call_api(
    call: Callable[[ModuleType, dict[str, Any]], Any],
) -> Callable[[ModuleType, dict[str, Any]], tuple[int, dict[str, str], Any]]:
    """Invoke an API handler with an event: (status, lower-cased headers, JSON body)."""
    return lambda handler, event: response_of(call(handler, event))

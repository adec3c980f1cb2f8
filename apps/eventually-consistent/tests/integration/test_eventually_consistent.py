"""The Eventually Consistent pattern as its users see it: writes land in DynamoDB at once and
in the PostgreSQL copy a moment later, the newest version always wins there, and a change
that cannot be replicated ends in the dead-letter queue without holding the others back.

These tests know only the deployed stack (its outputs), so the same file runs against the
embedded local cloud (default) and against a stack on AWS (``--target aws``). Each test uses
account ids of its own (the unique id), reads the copy through the reports API and the RDS
Data API, takes its own messages off the DLQ, and deletes what it wrote.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from stack_testing import Stack, wait_for

# Per request; generous enough for a cold start.
TIMEOUT = 30
# How long a write may take to show in the copy here: a deadline, not a speed target (on AWS
# a paused database resumes first).
REPLICATION_TIMEOUT = 120
# A record the database refuses is retried (bisect, then MaximumRetryAttempts) before the
# mapping gives up on it; on AWS the backoff between retries grows to tens of seconds.
GIVE_UP_TIMEOUT = 300


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Api:
    """The stack's REST API (write side and reports), one HTTP session per thread."""

    def __init__(self, stack: Stack) -> None:
        self.base = stack.url("ApiUrl").rstrip("/")
        self._local = threading.local()
        self._sessions: list[requests.Session] = []

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
            self._sessions.append(self._local.session)
        session: requests.Session = self._local.session
        return session

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self._session().request(method, self.base + path, timeout=TIMEOUT, **kwargs)

    def put(self, account_id: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.request("PUT", f"/accounts/{account_id}", json=body, **kwargs)

    def report(self, account_id: str) -> requests.Response:
        return self.request("GET", f"/reports/accounts/{account_id}")

    def settled_report(self, account_id: str) -> requests.Response:
        """The report once the database answers: on AWS a paused database makes the reports
        answer 503 (Retry-After) for the ~15 s it takes to resume."""

        def answered() -> list[requests.Response] | None:
            response = self.report(account_id)
            # In a list: a 4xx Response is falsy, which wait_for would read as "not yet".
            return [response] if response.status_code != 503 else None

        return wait_for(answered, timeout=TIMEOUT, description="a report")[0]

    def close(self) -> None:
        for session in self._sessions:
            session.close()


class Database:
    """The copy in PostgreSQL, through the RDS Data API (as an operator would query it)."""

    def __init__(self, stack: Stack) -> None:
        self._client = stack.client("rds-data")
        self._target = {
            "resourceArn": stack.output("DatabaseClusterArn"),
            "secretArn": stack.output("DatabaseSecretArn"),
            "database": stack.output("DatabaseName"),
        }

    def row(self, account_id: str) -> dict[str, Any] | None:
        try:
            response = self._client.execute_statement(
                **self._target,
                sql="SELECT account_id, name, version, deleted FROM accounts"
                " WHERE account_id = :id",
                parameters=[{"name": "id", "value": {"stringValue": account_id}}],
                formatRecordsAs="JSON",
            )
        except ClientError as error:
            if "does not exist" in str(error):  # the replicator has not created it yet
                return None
            raise
        rows = json.loads(response.get("formattedRecords") or "[]")
        return rows[0] if rows else None

    def forget(self, prefix: str) -> None:
        try:
            self._client.execute_statement(
                **self._target,
                sql="DELETE FROM accounts WHERE account_id LIKE :prefix",
                parameters=[{"name": "prefix", "value": {"stringValue": prefix + "%"}}],
            )
        except ClientError as error:
            if "does not exist" not in str(error):
                raise


class DeadLetters:
    """Takes this test's messages off the DLQ and leaves everybody else's there."""

    def __init__(self, stack: Stack) -> None:
        self._sqs = stack.client("sqs")
        self._url = stack.output("DeadLetterQueueUrl")
        self.mine: list[dict[str, Any]] = []

    def collect(self, is_mine: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Receive what is there now; keep (and delete) the messages ``is_mine`` accepts."""
        while True:
            received = self._sqs.receive_message(
                QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=30
            ).get("Messages", [])
            if not received:
                return list(self.mine)
            kept = 0
            for message in received:
                body = json.loads(message["Body"])
                if is_mine(body):
                    kept += 1
                    self.mine.append(body)
                    self._sqs.delete_message(
                        QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"]
                    )
                else:
                    self._sqs.change_message_visibility(
                        QueueUrl=self._url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=0,
                    )
            if not kept:
                return list(self.mine)


def stream_record(account_id: str, image: dict[str, Any], event_name: str = "MODIFY") -> dict:
    """A DynamoDB stream record as the event source mapping delivers it (a replay by hand)."""
    typed = {
        name: {"N": str(value)} if isinstance(value, int) else {"S": value}
        for name, value in image.items()
    }
    return {
        "eventID": "replay-" + account_id,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": {"account_id": {"S": account_id}},
            "NewImage": typed,
            "SequenceNumber": "1",
            "SizeBytes": 100,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def api(stack: Stack) -> Iterator[Api]:
    client = Api(stack)
    yield client
    client.close()


@pytest.fixture
def database(stack: Stack, unique_id: str) -> Iterator[Database]:
    db = Database(stack)
    yield db
    db.forget(unique_id)


@pytest.fixture
def table(stack: Stack, unique_id: str) -> Iterator[Any]:
    """The accounts table; every item of this test is deleted afterwards."""
    resource = stack.client("dynamodb")
    name = stack.output("AccountsTableName")
    yield resource, name
    items = resource.scan(
        TableName=name,
        FilterExpression="begins_with(account_id, :prefix)",
        ExpressionAttributeValues={":prefix": {"S": unique_id}},
        ProjectionExpression="account_id",
    ).get("Items", [])
    for item in items:
        resource.delete_item(TableName=name, Key={"account_id": item["account_id"]})


@pytest.fixture
def dead_letters(stack: Stack) -> DeadLetters:
    return DeadLetters(stack)


@pytest.fixture
def replay(stack: Stack) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    """Invoke the replicator with stream records, as an operator replaying them would."""
    client = stack.client("lambda")
    name = stack.output("ReplicatorFunctionName")

    def invoke(records: list[dict[str, Any]]) -> dict[str, Any]:
        response = client.invoke(FunctionName=name, Payload=json.dumps({"Records": records}))
        payload = json.loads(response["Payload"].read())
        assert "FunctionError" not in response, payload
        return dict(payload)

    return invoke


def account(name: str, plan: str = "team") -> dict[str, str]:
    return {"name": name, "email": "billing@example.com", "plan": plan}


def replicated(api: Api, account_id: str, version: int) -> dict[str, Any] | None:
    """The copy's account once it shows ``version`` (or a newer one), else None."""
    response = api.report(account_id)
    if response.status_code != 200:
        return None
    body: dict[str, Any] = response.json()
    return body if body["version"] >= version else None


# --- the pattern's promise -------------------------------------------------------------------


def test_a_write_is_read_at_once_on_the_write_side_and_shortly_after_from_the_copy(
    api, database, table, unique_id
):
    account_id = f"{unique_id}-a"
    # Until the write replicates, the copy does not know the account.
    missing = api.settled_report(account_id)
    assert missing.status_code == 404, missing.text

    written = api.put(account_id, account("Acme Corp"))
    assert written.status_code == 200, written.text
    assert written.json()["version"] == 1
    assert written.headers["ETag"] == '"1"'
    read = api.request("GET", f"/accounts/{account_id}")
    assert read.status_code == 200
    assert read.json()["name"] == "Acme Corp"

    copy = wait_for(
        lambda: replicated(api, account_id, 1),
        timeout=REPLICATION_TIMEOUT,
        description="the account in the reporting copy",
    )
    assert copy["name"] == "Acme Corp"
    assert copy["email"] == "billing@example.com"
    assert copy["plan"] == "team"
    assert copy["version"] == 1
    assert copy["updated_at"] == written.json()["updated_at"]
    assert copy["replication_lag_ms"] >= 0


def test_quick_concurrent_updates_end_with_the_newest_version_in_the_copy(
    api, database, table, unique_id
):
    account_id = f"{unique_id}-busy"
    writes = 20

    def write(n: int) -> tuple[int, str]:
        response = api.put(account_id, account(f"revision {n}", plan="free"))
        assert response.status_code == 200, response.text
        return int(response.json()["version"]), f"revision {n}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(write, range(writes)))

    versions = sorted(version for version, _ in results)
    # DynamoDB serialised the writes: every one got its own version, 1..20.
    assert versions == list(range(1, writes + 1))
    newest_name = max(results)[1]
    copy = wait_for(
        lambda: replicated(api, account_id, writes),
        timeout=REPLICATION_TIMEOUT,
        description=f"version {writes} in the copy",
    )
    assert copy["version"] == writes
    assert copy["name"] == newest_name


def test_an_older_version_delivered_again_does_not_win(api, database, table, replay, unique_id):
    account_id = f"{unique_id}-replay"
    first = api.put(account_id, account("Old Name")).json()
    second = api.put(account_id, account("New Name")).json()
    assert (first["version"], second["version"]) == (1, 2)
    wait_for(
        lambda: replicated(api, account_id, 2),
        timeout=REPLICATION_TIMEOUT,
        description="version 2 in the copy",
    )

    old_image = {**account("Old Name"), "account_id": account_id, "version": 1}
    old_image["updated_at"] = first["updated_at"]
    new_image = {**account("New Name"), "account_id": account_id, "version": 2}
    new_image["updated_at"] = second["updated_at"]
    # The replicator ran it (a tally came back) and judged both stale: the copy has v2.
    tally = replay([stream_record(account_id, old_image)])
    assert (tally["records"], tally["applied"], tally["stale"]) == (1, 0, 1), tally
    tally = replay([stream_record(account_id, new_image)])
    assert (tally["applied"], tally["stale"]) == (0, 1), tally

    row = database.row(account_id)
    assert row is not None
    assert (row["version"], row["name"]) == (2, "New Name")
    assert api.settled_report(account_id).json()["name"] == "New Name"


def test_a_delete_replicates_and_an_older_write_does_not_resurrect_it(
    api, database, table, replay, unique_id
):
    account_id = f"{unique_id}-gone"
    created = api.put(account_id, account("Short Lived")).json()
    wait_for(
        lambda: replicated(api, account_id, 1),
        timeout=REPLICATION_TIMEOUT,
        description="the account in the copy",
    )
    deleted = api.request("DELETE", f"/accounts/{account_id}")
    assert deleted.status_code == 204, deleted.text
    assert deleted.headers["ETag"] == '"2"'
    assert api.request("GET", f"/accounts/{account_id}").status_code == 404
    assert api.request("DELETE", f"/accounts/{account_id}").status_code == 404

    def delete_replicated() -> dict[str, Any] | None:
        response = api.report(account_id)
        # A plain dict: a 404 requests.Response is falsy, which wait_for reads as "not yet".
        return dict(response.json()) if response.status_code == 404 else None

    gone = wait_for(
        delete_replicated, timeout=REPLICATION_TIMEOUT, description="the delete in the copy"
    )
    assert "deleted (version 2)" in gone["message"]

    # The create, delivered late: the tombstone (version 2) keeps it out.
    image = {**account("Short Lived"), "account_id": account_id, "version": 1}
    image["updated_at"] = created["updated_at"]
    tally = replay([stream_record(account_id, image, "INSERT")])
    assert (tally["applied"], tally["stale"]) == (0, 1), tally
    row = database.row(account_id)
    assert row is not None
    assert (row["deleted"], row["version"]) == (True, 2)
    assert api.settled_report(account_id).status_code == 404

    # Created again under the same id, it goes on from the tombstone's version.
    again = api.put(account_id, account("Back Again"))
    assert again.json()["version"] == 3
    copy = wait_for(
        lambda: replicated(api, account_id, 3),
        timeout=REPLICATION_TIMEOUT,
        description="the re-created account in the copy",
    )
    assert copy["name"] == "Back Again"


def test_bad_requests_are_refused_with_a_clear_message(api, table, unique_id):
    account_id = f"{unique_id}-bad"
    cases = [
        ({"name": "x", "email": "x@example.com"}, "plan"),
        ({"name": "x", "email": "not-an-email", "plan": "team"}, "e-mail"),
        ({"name": "x", "email": "x@example.com", "plan": "gold"}, "plan"),
        ({"name": "x", "email": "x@example.com", "plan": "team", "extra": 1}, "extra"),
    ]
    for body, mentioned in cases:
        response = api.put(account_id, body)
        assert response.status_code == 400, (body, response.text)
        assert mentioned in response.json()["message"], response.text
    not_json = api.request("PUT", f"/accounts/{account_id}", data="{nope")
    assert not_json.status_code == 400
    bad_id = api.put("-no", account("x"))
    assert bad_id.status_code == 400
    assert "account_id" in bad_id.json()["message"]

    assert api.put(account_id, account("Fine")).status_code == 200
    stale = api.put(account_id, account("Lost Update"), headers={"If-Match": '"7"'})
    assert stale.status_code == 412, stale.text
    fresh = api.put(account_id, account("Next"), headers={"If-Match": '"1"'})
    assert fresh.status_code == 200
    assert fresh.json()["version"] == 2


def test_a_record_that_cannot_be_mapped_is_parked_with_the_reason_and_others_replicate(
    api, database, table, dead_letters, unique_id
):
    """Another writer puts an item the replicator cannot map (its version is not a number):
    the record lands on the DLQ at once, with the reason and the record; a later write to
    another account still replicates."""
    client, name = table
    poison_id = f"{unique_id}-poison"
    client.put_item(
        TableName=name,
        Item={
            "account_id": {"S": poison_id},
            "name": {"S": "Written Around The API"},
            "email": {"S": "ops@example.com"},
            "plan": {"S": "team"},
            "version": {"S": "seven"},
            "updated_at": {"S": now()},
        },
    )
    later_id = f"{unique_id}-later"
    assert api.put(later_id, account("Written Later")).status_code == 200

    wait_for(
        lambda: replicated(api, later_id, 1),
        timeout=REPLICATION_TIMEOUT,
        description="the later account in the copy",
    )

    def parked() -> list[dict[str, Any]]:
        return dead_letters.collect(lambda body: poison_id in json.dumps(body))

    envelopes = wait_for(parked, timeout=REPLICATION_TIMEOUT, description="the parked record")
    assert len(envelopes) == 1, envelopes
    envelope = envelopes[0]
    assert "'version'" in envelope["error"]["message"]
    assert envelope["error"]["type"] == "Unmappable"
    record = envelope["payload"]
    assert record["dynamodb"]["Keys"]["account_id"]["S"] == poison_id
    assert record["dynamodb"]["NewImage"]["version"] == {"S": "seven"}
    assert database.row(poison_id) is None


def test_a_record_the_database_refuses_is_given_up_and_pointed_to_while_others_replicate(
    stack, api, database, table, dead_letters, unique_id
):
    """An item the mapping accepts but PostgreSQL refuses (a name longer than the copy's
    varchar(200)): the batch fails, the mapping bisects and retries it, then gives up and
    sends a pointer (shard, sequence numbers) to the DLQ, its on-failure destination. The
    pointer leads back to the record in the stream; later writes still replicate."""
    client, name = table
    refused_id = f"{unique_id}-long"
    client.put_item(
        TableName=name,
        Item={
            "account_id": {"S": refused_id},
            "name": {"S": "N" * 300},
            "email": {"S": "ops@example.com"},
            "plan": {"S": "team"},
            "version": {"N": "1"},
            "updated_at": {"S": now()},
        },
    )
    later_id = f"{unique_id}-after"
    assert api.put(later_id, account("After The Refused One")).status_code == 200

    streams = stack.client("dynamodbstreams")
    stream_arn = stack.output("AccountsStreamArn")

    def points_at_refused(body: dict[str, Any]) -> bool:
        info = body.get("DDBStreamBatchInfo")
        if not info:
            return False
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn,
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=info["startSequenceNumber"],
        )["ShardIterator"]
        records = streams.get_records(ShardIterator=iterator, Limit=info["batchSize"])["Records"]
        return any(r["dynamodb"]["Keys"]["account_id"]["S"] == refused_id for r in records)

    pointers = wait_for(
        lambda: dead_letters.collect(points_at_refused),
        timeout=GIVE_UP_TIMEOUT,
        description="the on-failure record of the refused item",
    )
    pointer = pointers[0]
    assert pointer["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert pointer["requestContext"]["approximateInvokeCount"] >= 4  # 1 + MaximumRetryAttempts
    assert pointer["DDBStreamBatchInfo"]["batchSize"] == 1  # bisected down to the one record
    assert pointer["DDBStreamBatchInfo"]["streamArn"] == stream_arn

    copy = wait_for(
        lambda: replicated(api, later_id, 1),
        timeout=REPLICATION_TIMEOUT,
        description="the later account in the copy",
    )
    assert copy["name"] == "After The Refused One"
    assert database.row(refused_id) is None

"""The Data API adapter: the statements it sends and how it reads their answers."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from crm_replicator.read_model import MIGRATION, PURGE, UPSERT, DataApiReadModel
from crm_replicator.replication import Purge, Upsert

LIVE = Upsert("acme", 3, "2026-11-23T10:00:00.000Z", name="Acme", email="a@b.co", plan="team")


def resuming() -> ClientError:
    return ClientError(
        {"Error": {"Code": "DatabaseResumingException", "Message": "resuming"}}, "ExecuteStatement"
    )


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def read_model(data_api, sleeps) -> DataApiReadModel:
    return DataApiReadModel(data_api, "cluster-arn", "secret-arn", "reporting", sleep=sleeps.append)


def params(call):
    return {p["name"]: p["value"] for p in call["parameters"]}


def test_the_upsert_only_wins_with_a_higher_version():
    assert "ON CONFLICT (account_id) DO UPDATE" in UPSERT
    assert "WHERE excluded.version > current.version" in UPSERT


def test_an_upsert_sends_every_field_and_reads_whether_it_won(read_model, data_api):
    data_api.answers = [{"numberOfRecordsUpdated": 1}, {"numberOfRecordsUpdated": 0}]
    assert read_model.upsert(LIVE) is True
    assert read_model.upsert(LIVE) is False
    call = data_api.calls[0]
    assert call["sql"] == UPSERT
    assert (call["resourceArn"], call["secretArn"], call["database"]) == (
        "cluster-arn",
        "secret-arn",
        "reporting",
    )
    assert params(call) == {
        "account_id": {"stringValue": "acme"},
        "name": {"stringValue": "Acme"},
        "email": {"stringValue": "a@b.co"},
        "plan": {"stringValue": "team"},
        "version": {"longValue": 3},
        "deleted": {"booleanValue": False},
        "updated_at": {"stringValue": "2026-11-23T10:00:00.000Z"},
    }


def test_a_tombstone_is_a_row_with_null_fields(read_model, data_api):
    read_model.upsert(Upsert("acme", 4, "2026-11-23T10:00:00.000Z", deleted=True))
    sent = params(data_api.calls[0])
    assert sent["deleted"] == {"booleanValue": True}
    assert sent["name"] == sent["email"] == sent["plan"] == {"isNull": True}


def test_a_purge_names_the_version_or_null(read_model, data_api):
    data_api.answers = [{"numberOfRecordsUpdated": 1}, {"numberOfRecordsUpdated": 0}]
    assert read_model.purge(Purge("acme", 4)) is True
    assert read_model.purge(Purge("acme", None)) is False
    assert data_api.calls[0]["sql"] == PURGE
    assert params(data_api.calls[0])["version"] == {"longValue": 4}
    assert params(data_api.calls[1])["version"] == {"isNull": True}


def test_the_schema_is_created_once_per_environment(read_model, data_api):
    read_model.ensure_schema()
    read_model.ensure_schema()
    assert [call["sql"] for call in data_api.calls] == [MIGRATION]


def test_a_resuming_database_is_waited_for(read_model, data_api, sleeps):
    data_api.answers = [resuming(), resuming(), {"numberOfRecordsUpdated": 1}]
    assert read_model.upsert(LIVE) is True
    assert sleeps == [1.0, 2.0]


def test_a_database_that_does_not_resume_fails_the_batch(read_model, data_api, sleeps):
    data_api.answers = [resuming() for _ in range(5)]
    with pytest.raises(ClientError):
        read_model.upsert(LIVE)
    assert sleeps == [1.0, 2.0, 4.0, 8.0]


def test_other_errors_are_not_retried(read_model, data_api, sleeps):
    data_api.answers = [
        ClientError({"Error": {"Code": "BadRequestException", "Message": "no"}}, "ExecuteStatement")
    ]
    with pytest.raises(ClientError, match="BadRequestException"):
        read_model.upsert(LIVE)
    assert sleeps == []

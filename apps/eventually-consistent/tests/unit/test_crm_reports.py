"""The reporting side: the copy's rows as answers, and its Data API queries."""

from __future__ import annotations

import dataclasses
import json

import pytest
from botocore.exceptions import ClientError
from crm_reports import reports

ROW = reports.AccountRow(
    account_id="acme",
    name="Acme",
    email="a@b.co",
    plan="team",
    version=3,
    deleted=False,
    updated_at="2026-11-23T10:00:00.000Z",
    replicated_at="2026-11-23T10:00:01.250Z",
    lag_ms=1250,
)


class FakeReports:
    def __init__(self, rows: dict[str, reports.AccountRow]) -> None:
        self.rows = rows

    def account(self, account_id: str) -> reports.AccountRow | None:
        return self.rows.get(account_id)

    def plans(self) -> dict[str, int]:
        return {"team": 2}


def test_a_replicated_account_is_reported_with_its_version_and_lag():
    row = reports.account_report(FakeReports({"acme": ROW}), "acme")
    assert row.to_json()["version"] == 3
    assert row.to_json()["replication_lag_ms"] == 1250


def test_a_missing_or_deleted_account_is_not_reported():
    deleted = dataclasses.replace(ROW, deleted=True, version=4)
    fake = FakeReports({"gone": deleted})
    with pytest.raises(reports.NotReplicated, match="not in the reporting copy"):
        reports.account_report(fake, "acme")
    with pytest.raises(reports.NotReplicated, match=r"was deleted \(version 4\)"):
        reports.account_report(fake, "gone")
    with pytest.raises(reports.InvalidInput):
        reports.account_report(fake, "-bad")


def test_the_data_api_rows_become_account_rows(data_api):
    data_api.answers = [
        {
            "formattedRecords": json.dumps(
                [
                    {
                        "account_id": "acme",
                        "name": "Acme",
                        "email": "a@b.co",
                        "plan": "team",
                        "version": 3,
                        "deleted": False,
                        "updated_at": "2026-11-23T10:00:00.000Z",
                        "replicated_at": "2026-11-23T10:00:01.250Z",
                        "lag_ms": 1250,
                    }
                ]
            )
        },
        {"formattedRecords": "[]"},
        {"formattedRecords": json.dumps([{"plan": "free", "accounts": 2}])},
    ]
    adapter = reports.DataApiAccountReports(data_api, "cluster", "secret", "reporting")
    assert adapter.account("acme") == ROW
    assert adapter.account("other") is None
    assert adapter.plans() == {"free": 2}
    assert data_api.calls[0]["formatRecordsAs"] == "JSON"
    assert data_api.calls[0]["parameters"] == [
        {"name": "account_id", "value": {"stringValue": "acme"}}
    ]


def test_before_the_first_replication_there_is_nothing_to_report(data_api):
    data_api.answers = [
        ClientError(
            {
                "Error": {
                    "Code": "BadRequestException",
                    "Message": 'relation "accounts" does not exist',
                }
            },
            "ExecuteStatement",
        ),
        ClientError(
            {"Error": {"Code": "BadRequestException", "Message": "boom"}}, "ExecuteStatement"
        ),
    ]
    adapter = reports.DataApiAccountReports(data_api, "cluster", "secret", "reporting")
    assert adapter.account("acme") is None
    with pytest.raises(ClientError, match="boom"):
        adapter.account("acme")


def test_the_handler_answers_200_404_and_400(reports_module, monkeypatch, api, rest_event):
    monkeypatch.setattr(reports_module, "_reports", FakeReports({"acme": ROW}))
    found = api(reports_module, rest_event("GET", "/reports/accounts/acme"))
    assert found.status == 200
    assert found.json()["name"] == "Acme"
    missing = api(reports_module, rest_event("GET", "/reports/accounts/nope"))
    assert missing.status == 404
    assert "not in the reporting copy" in missing.message
    assert api(reports_module, rest_event("GET", "/reports/accounts/-x")).status == 400
    plans = api(reports_module, rest_event("GET", "/reports/plans"))
    assert plans.json() == {"live_accounts_by_plan": {"team": 2}}


class ResumingReports(FakeReports):
    def account(self, account_id: str) -> reports.AccountRow | None:
        raise reports.DatabaseResuming("the reporting database is resuming")


def test_a_resuming_database_is_503_with_retry_after(reports_module, monkeypatch, api, rest_event):
    monkeypatch.setattr(reports_module, "_reports", ResumingReports({}))
    response = api(reports_module, rest_event("GET", "/reports/accounts/acme"))
    assert response.status == 503
    assert response.headers["retry-after"] == "15"
    assert "resuming" in response.message


def test_the_adapter_turns_a_resuming_database_into_database_resuming(data_api):
    data_api.answers = [
        ClientError(
            {"Error": {"Code": "DatabaseResumingException", "Message": "resuming"}},
            "ExecuteStatement",
        )
    ]
    adapter = reports.DataApiAccountReports(data_api, "cluster", "secret", "reporting")
    with pytest.raises(reports.DatabaseResuming):
        adapter.plans()

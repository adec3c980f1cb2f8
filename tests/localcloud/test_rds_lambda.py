"""Lambda functions reach Aurora PostgreSQL through the Data API, with no VPC and no driver."""

from __future__ import annotations

import contextlib
import sys
import uuid
from pathlib import Path

from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).parent))
from _cfn_helpers import delete
from _rds_helpers import deploy_aurora, rows

WRITER = """
    import os

    import boto3

    data = boto3.client("rds-data")
    TARGET = {
        "resourceArn": os.environ["CLUSTER_ARN"],
        "secretArn": os.environ["SECRET_ARN"],
        "database": os.environ["DATABASE"],
    }

    def handler(event, context):
        data.execute_statement(
            sql="CREATE TABLE IF NOT EXISTS " + event["table"] + " (id text PRIMARY KEY, b text)",
            **TARGET,
        )
        result = data.execute_statement(
            sql="INSERT INTO " + event["table"] + " (id, b) VALUES (:id, :body) RETURNING id",
            parameters=[
                {"name": "id", "value": {"stringValue": event["id"]}},
                {"name": "body", "value": {"stringValue": event["body"]}},
            ],
            **TARGET,
        )
        return {"inserted": result["records"][0][0]["stringValue"],
                "endpoint": data.meta.endpoint_url}
"""


def test_function_writes_through_the_data_api_and_the_row_is_visible(aws, make_function, invoke):
    """A function calls boto3.client("rds-data") exactly as on AWS: its AWS_ENDPOINT_URL
    sends the call to the local cloud, the row it inserts is in the cluster's database, and
    the test reads it back through the Data API."""
    aurora = deploy_aurora(aws, prefix="rds-lambda")
    try:
        name = make_function(
            WRITER,
            timeout=15,
            environment={
                "CLUSTER_ARN": aurora.cluster_arn,
                "SECRET_ARN": aurora.secret_arn,
                "DATABASE": aurora.database,
            },
        )
        table = f"events_{uuid.uuid4().hex[:8]}"
        row_id = uuid.uuid4().hex

        invoked = invoke(name, {"table": table, "id": row_id, "body": "hello"})

        assert invoked.function_error is None, invoked.payload
        assert invoked.payload["inserted"] == row_id
        assert invoked.payload["endpoint"].startswith("http://127.0.0.1:")
        selected = aws("rds-data").execute_statement(
            sql=f"SELECT id, b FROM {table}", **aurora.args()
        )
        assert rows(selected) == [[row_id, "hello"]]
    finally:
        with contextlib.suppress(ClientError, TimeoutError):
            delete(aws("cloudformation"), aurora.stack_name)

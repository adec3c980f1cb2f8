"""Handlers call AWS through the SDK the runtime ships, and reach the local cloud."""

from __future__ import annotations

import uuid

WRITER = """
    import os

    import boto3

    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])

    def handler(event, context):
        table.put_item(Item={"pk": event["id"], "written_by": context.function_name})
        return {"endpoint": os.environ.get("AWS_ENDPOINT_URL")}
"""


def test_handler_writes_to_dynamodb_on_the_local_cloud(aws, local_cloud, make_function, invoke):
    """boto3 in a handler, configured by nothing but the Lambda environment (region,
    credentials, AWS_ENDPOINT_URL), writes to the same DynamoDB the test reads."""
    table = f"orders-{uuid.uuid4().hex[:8]}"
    aws("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    name = make_function(WRITER, environment={"TABLE_NAME": table}, timeout=10)
    item_id = str(uuid.uuid4())

    result = invoke(name, {"id": item_id})
    item = aws("dynamodb").get_item(TableName=table, Key={"pk": {"S": item_id}}).get("Item")

    assert result.function_error is None, result.payload
    assert result.payload["endpoint"] == local_cloud.endpoint_url
    assert item == {"pk": {"S": item_id}, "written_by": {"S": name}}
    aws("dynamodb").delete_table(TableName=table)


def test_handler_can_invoke_another_function(make_function, invoke):
    """Lambda-to-Lambda: a handler's synchronous Invoke of another function returns its
    result (the calling invocation holds its slot while the callee runs in another)."""
    callee = make_function('def handler(event, context):\n    return {"doubled": event["n"] * 2}\n')
    caller = make_function(
        """
        import json
        import os

        import boto3

        def handler(event, context):
            response = boto3.client("lambda").invoke(
                FunctionName=os.environ["CALLEE"], Payload=json.dumps({"n": event["n"]})
            )
            return json.loads(response["Payload"].read())
        """,
        environment={"CALLEE": callee},
        timeout=10,
    )

    assert invoke(caller, {"n": 21}).payload == {"doubled": 42}

"""REST API (v1 proxy events) for ``GET /invoices/{invoice_id}`` once it is migrated.

The façade routes here only while the stack parameter ``InvoicesOnNewService`` is true;
before that (and after a rollback) the same URL is answered by the legacy system.
"""

from __future__ import annotations

import os
from http import HTTPStatus
from typing import Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.http import NotFound, install_error_handlers
from common_layer.observability import instrument

from strangler_invoices import invoices

# Created at import so warm invocations reuse the connection pool.
_reader = invoices.DynamoDBOrderReader(
    boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE_NAME"])
)

app = APIGatewayRestResolver()
install_error_handlers(app)


@app.get("/invoices/<invoice_id>")
def get_invoice(invoice_id: str) -> Response[Any]:
    try:
        invoice = invoices.invoice_for(_reader, invoice_id)
    except invoices.InvoiceNotFound as error:
        raise NotFound(str(error)) from error
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type=content_types.APPLICATION_JSON,
        body={"served_by": invoices.SERVED_BY, "invoice": invoice},
        headers={"X-Served-By": invoices.SERVED_BY},
    )


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

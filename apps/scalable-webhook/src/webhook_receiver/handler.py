"""POST /webhooks/{source} (REST API, v1 proxy events): check, queue, answer 202 at once.

Order of checks: size (413) before anything else, then the signature (401) over the raw
bytes before the body is even parsed, then the contract (400 naming the field). A webhook
that passes is on the queue before the 202 leaves; a failure to queue it fails the
invocation (502 from API Gateway), so the sender retries and nothing is lost silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any, ClassVar

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.http import (
    ApiError,
    InvalidRequest,
    PayloadTooLarge,
    install_error_handlers,
    parse_json_object,
)
from common_layer.observability import MetricUnit, instrument, logger, metrics

from webhook_receiver import intake

# Webhooks are notifications, not file uploads. 64 KiB also keeps every queue message
# (JSON-escaped, at most 3.5x the body) and its DLQ envelope under SQS's 256 KiB of old.
MAX_BODY_BYTES = 64 * 1024

# Created at import so warm invocations reuse the connection pools.
_queue = intake.SqsWebhookQueue(boto3.client("sqs"), os.environ["WEBHOOK_QUEUE_URL"])
_secret_arn = os.environ.get("SIGNING_SECRET_ARN", "")
# An empty ARN means the stack was deployed with SignatureVerification=Disabled.
_secret = (
    intake.SecretsManagerSigningSecret(boto3.client("secretsmanager"), _secret_arn)
    if _secret_arn
    else None
)

app = APIGatewayRestResolver()
install_error_handlers(app)


class Unauthorized(ApiError):
    """The signature is missing or wrong (401)."""

    status_code: ClassVar[int] = 401


@contextmanager
def _client_errors() -> Iterator[None]:
    """Map the intake's own errors onto the layer's HTTP errors."""
    try:
        yield
    except intake.InvalidWebhook as error:
        raise InvalidRequest(str(error)) from error
    except intake.SignatureMismatch as error:
        metrics.add_metric(name="WebhookSignatureRejected", unit=MetricUnit.Count, value=1)
        raise Unauthorized(str(error)) from error


@app.post("/webhooks/<source>")
def receive_webhook(source: str) -> Response[Any]:
    raw = (app.current_event.decoded_body or "").encode("utf-8")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    with _client_errors():
        if _secret is not None:
            signature = app.current_event.headers.get(intake.SIGNATURE_HEADER)
            intake.verify_signature(_secret.value(), raw, signature)
        body = parse_json_object(raw, max_bytes=MAX_BODY_BYTES)
        accepted = intake.accept_webhook(_queue, source, body)
    metrics.add_metric(name="WebhookAccepted", unit=MetricUnit.Count, value=1)
    logger.info(
        "webhook queued",
        extra={"event_id": accepted.event_id, "source": source, "message_id": accepted.message_id},
    )
    return Response(
        status_code=HTTPStatus.ACCEPTED.value,
        content_type=content_types.APPLICATION_JSON,
        body={"id": accepted.event_id},
    )


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

"""The caller side of the handoff: validate a payment request, hand it off, acknowledge.

The intake checks a request against the recorder's own contract (``payment_recorder.payments``,
deployed with it), so every job it hands off is one the recorder accepts; a bad request is
refused here, while the client is still listening. It stamps when it accepted the payment
and hands the job to the recorder with an asynchronous invoke, which returns as soon as
Lambda has queued the event (HTTP 202): the intake never waits for the ledger, and a slow or
failing recorder never slows or fails the client. From then on Lambda owns delivery:
retries, and the failure queue when the retries run out.

The recorder is reached through the :class:`Handoff` port: :class:`LambdaHandoff` in Lambda,
a fake in unit tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from payment_recorder.payments import InvalidPayment, parse_request, timestamp

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient

ACCEPTED = 202
BAD_REQUEST = 400


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """What the intake answers once the job is queued: not done, but accepted for good."""

    job_id: str
    accepted_at: str
    # Lambda's id of the asynchronous request: the recorder's logs and, if it fails for
    # good, its failure record (requestContext.requestId) carry the same id.
    request_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "statusCode": ACCEPTED,
            "jobId": self.job_id,
            "acceptedAt": self.accepted_at,
            "requestId": self.request_id,
        }


def rejection(error: InvalidPayment) -> dict[str, Any]:
    """The answer to a request that breaks the contract: nothing was handed off."""
    return {"statusCode": BAD_REQUEST, "message": str(error), "field": error.field}


class HandoffRefused(RuntimeError):
    """Lambda did not queue the event (the invoke did not answer 202)."""


class Handoff(Protocol):
    def send(self, job: Mapping[str, str]) -> str | None:
        """Queue ``job`` for the recorder and return at once; the request id, if known."""
        ...


Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def hand_off_payment(
    handoff: Handoff, request: object, *, clock: Clock = _utc_now
) -> Acknowledgement:
    """Validate ``request`` and hand the payment off; raises ``InvalidPayment`` naming the field.

    The job id is the payment id: handing the same payment off again is safe (the recorder
    records it once), so a client that is unsure whether its call went through just repeats it.
    """
    payment = parse_request(request)
    accepted_at = timestamp(clock())
    job = replace(payment, requested_at=accepted_at).to_job()
    request_id = handoff.send(job)
    return Acknowledgement(
        job_id=payment.payment_id, accepted_at=accepted_at, request_id=request_id
    )


class LambdaHandoff:
    """:class:`Handoff` through Lambda's Invoke API with ``InvocationType=Event``."""

    def __init__(self, client: LambdaClient, function_name: str) -> None:
        self._client = client
        self._function_name = function_name

    def send(self, job: Mapping[str, str]) -> str | None:
        response = self._client.invoke(
            FunctionName=self._function_name,
            InvocationType="Event",
            Payload=json.dumps(dict(job), separators=(",", ":")).encode(),
        )
        if response["StatusCode"] != ACCEPTED:
            raise HandoffRefused(
                f"Lambda answered {response['StatusCode']} instead of {ACCEPTED} for an Event "
                f"invoke of {self._function_name}"
            )
        request_id = response.get("ResponseMetadata", {}).get("RequestId")
        return str(request_id) if request_id else None

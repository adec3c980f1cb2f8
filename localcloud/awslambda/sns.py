"""SNS delivers to Lambda subscriptions as AWS does: asynchronously, with the real event.

moto's ``Subscription.publish`` (``moto/sns/models.py``) calls
``LambdaBackend.send_sns_message`` for a ``lambda`` subscription, which invokes the function
synchronously, inside Publish, with a fixed example event (``TopicArn`` ``arn:aws:sns:EXAMPLE``,
made-up message attributes). Replaced here: ``Subscription.publish`` is wrapped, and for
``lambda`` subscriptions only it

- applies the subscription's filter policy with moto's own matcher
  (``FilterPolicyMatcher``, both ``MessageAttributes`` and ``MessageBody`` scopes): a
  message that does not match never reaches the function;
- picks the ``lambda`` (or ``default``) message of a ``MessageStructure=json`` publish;
- invokes the function with ``InvocationType=Event`` (AWS: "Amazon SNS invokes your
  function asynchronously"), so the asynchronous retries, dead-letter queue and
  destinations apply;
- with the event AWS sends: ``Records[0]`` with ``EventSource`` ``aws:sns``,
  ``EventVersion`` ``1.0``, the subscription's ARN, and an ``Sns`` object holding the
  notification (``Type``, ``MessageId``, the real ``TopicArn``, ``Subject`` or null,
  ``Message``, ``Timestamp``, ``SignatureVersion``, ``Signature``, ``SigningCertUrl``,
  ``UnsubscribeUrl``, ``MessageAttributes`` as ``{name: {"Type", "Value"}}``).

The signature and certificate come from moto's ``Subscription.get_post_data``, the same
signed notification an HTTP subscriber gets. Every other protocol keeps moto's delivery.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from localcloud.awslambda.model import InvokeRequest

log = logging.getLogger("localcloud.awslambda")

_originals: dict[str, Any] = {}
_apply_lock = threading.Lock()


def lambda_event(
    subscription: Any,
    message: str,
    message_id: str,
    subject: str | None,
    message_attributes: dict[str, Any] | None,
) -> dict[str, Any]:
    """The event an SNS-triggered function receives for one notification."""
    signed = subscription.get_post_data(message, message_id, subject)
    region = subscription.topic.sns_backend.region_name
    attributes = {
        str(name): {"Type": value.get("Type"), "Value": value.get("Value")}
        for name, value in (message_attributes or {}).items()
    }
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription.arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": subscription.topic.arn,
                    "Subject": subject or None,
                    "Message": message,
                    "Timestamp": signed["Timestamp"],
                    "SignatureVersion": signed["SignatureVersion"],
                    "Signature": signed["Signature"],
                    "SigningCertUrl": signed["SigningCertURL"],
                    "UnsubscribeUrl": (
                        f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe"
                        f"&SubscriptionArn={subscription.arn}"
                    ),
                    "MessageAttributes": attributes,
                },
            }
        ]
    }


def _deliver(subscription: Any, event: dict[str, Any]) -> None:
    from moto.awslambda.models import lambda_backends

    from localcloud.awslambda import get_runtime
    from localcloud.awslambda.patch import function_config

    endpoint = str(subscription.endpoint)
    parts = endpoint.split(":")
    region = parts[3] if len(parts) > 3 else subscription.topic.sns_backend.region_name
    account = parts[4] if len(parts) > 4 else subscription.account_id
    try:
        fn = lambda_backends[account][region].get_function(endpoint)
    except Exception:
        # AWS counts a delivery to a missing function as a client-side error and drops it
        # (or sends it to the subscription's own dead-letter queue).
        log.warning("SNS could not deliver to %s: the function does not exist", endpoint)
        return
    payload = json.dumps(event).encode()
    get_runtime().invoke_async(function_config(fn), InvokeRequest(payload=payload))


def _publish(
    self: Any,
    message: str,
    message_id: str,
    subject: str | None = None,
    message_attributes: dict[str, Any] | None = None,
    group_id: str | None = None,
    deduplication_id: str | None = None,
    message_structure: str | None = None,
) -> None:
    if self.protocol != "lambda":
        _originals["Subscription.publish"](
            self,
            message,
            message_id,
            subject=subject,
            message_attributes=message_attributes,
            group_id=group_id,
            deduplication_id=deduplication_id,
            message_structure=message_structure,
        )
        return
    matcher = self._filter_policy_matcher
    if matcher is not None and not matcher.matches(message_attributes, message):
        return
    if message_structure == "json":
        message = self._parse_message_structure(message, self.protocol)
    event = lambda_event(self, message, message_id, subject, message_attributes)
    try:
        _deliver(self, event)
    except Exception:
        # SNS retries a failed delivery on its own schedule; the local cloud logs it.
        log.exception("SNS could not deliver message %s to %s", message_id, self.endpoint)


def apply() -> None:
    """Replace moto's synchronous Lambda delivery of SNS, once per process."""
    from moto.sns.models import Subscription

    with _apply_lock:
        if _originals:
            return
        _originals["Subscription.publish"] = Subscription.publish
        Subscription.publish = _publish  # type: ignore[method-assign]

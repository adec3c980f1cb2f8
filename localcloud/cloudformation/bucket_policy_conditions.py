"""Bucket policies: moto applies statements without evaluating their conditions.

Replaces ``moto.s3.models.FakeBucket.get_permission``. moto documents that bucket policy
conditions "are not taken into account", which makes a conditional Deny unconditional. The
bucket ``sam deploy --resolve-s3`` creates (stack ``aws-sam-cli-managed-default``) carries
``Deny s3:* when aws:SecureTransport is false``: applied without its condition it refuses
every upload, so ``sam deploy`` failed with 403 as soon as the local cloud honoured
``AWS::S3::BucketPolicy`` instead of skipping it. A statement whose condition cannot be
evaluated is not applied at all here (the local cloud does not enforce IAM anyway); the
policy is still stored and returned by GetBucketPolicy unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from moto.s3.models import FakeBucket

from localcloud.cloudformation._patching import replace


def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
    from moto.iam.access_control import IAMPolicy, PermissionResult

    if self.policy is None:
        return PermissionResult.NEUTRAL
    document = json.loads(self.policy.decode())
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    unconditional = [s for s in statements if not s.get("Condition")]
    if not unconditional:
        return PermissionResult.NEUTRAL
    policy = IAMPolicy(json.dumps({**document, "Statement": unconditional}))
    return policy.is_action_permitted(action, resource)


def install() -> None:
    replace(
        FakeBucket,
        "get_permission",
        get_permission,
        "conditional statements were applied unconditionally (SAM's bucket refused uploads)",
    )

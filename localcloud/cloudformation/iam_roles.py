"""IAM roles created by CloudFormation keep their inline policies as IAM does: JSON documents.

moto 5.2.5's ``Role.create_from_cloudformation_json`` stores each ``Policies[].PolicyDocument``
as the Python dict it parsed, so ``GetRolePolicy`` returns its repr, not a JSON document, for
every role SAM generates; and ``Role.update_from_cloudformation_json`` ignores a changed
``Policies`` list altogether, so a stack update never changes what a function may do.
"""

from __future__ import annotations

import json
from typing import Any

from moto.iam.models import Role, iam_backends
from moto.utilities.utils import get_partition

from localcloud.cloudformation._patching import callable_of, replace


def _policy_json(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def _with_json_policies(cloudformation_json: dict[str, Any]) -> dict[str, Any]:
    properties = dict(cloudformation_json.get("Properties", {}))
    properties["Policies"] = [
        {**policy, "PolicyDocument": _policy_json(policy["PolicyDocument"])}
        for policy in properties.get("Policies", [])
    ]
    return {**cloudformation_json, "Properties": properties}


def install() -> None:
    original_create = callable_of(Role.__dict__["create_from_cloudformation_json"])
    original_update = callable_of(Role.__dict__["update_from_cloudformation_json"])

    def create_from_cloudformation_json(
        cls: type[Role],
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Role:
        return original_create(
            cls, resource_name, _with_json_policies(cloudformation_json), account_id,
            region_name, **kwargs,
        )  # fmt: skip

    def update_from_cloudformation_json(
        cls: type[Role],
        original_resource: Role,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Role:
        role = original_update(
            cls, original_resource, new_resource_name, cloudformation_json, account_id,
            region_name,
        )  # fmt: skip
        backend = iam_backends[account_id][get_partition(region_name)]
        current = backend.get_role(original_resource.name)
        wanted = {
            policy["PolicyName"]: _policy_json(policy["PolicyDocument"])
            for policy in cloudformation_json.get("Properties", {}).get("Policies", [])
        }
        for name in set(current.policies) - set(wanted):
            current.delete_policy(name)
        for name, document in wanted.items():
            current.put_policy(name, document)
        return role

    replace(
        Role,
        "create_from_cloudformation_json",
        classmethod(create_from_cloudformation_json),
        "store inline Policies as JSON documents, as IAM does",
    )
    replace(
        Role,
        "update_from_cloudformation_json",
        classmethod(update_from_cloudformation_json),
        "apply a changed inline Policies list on stack update",
    )

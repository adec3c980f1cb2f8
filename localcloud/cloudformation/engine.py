"""The stack engine: create, update and delete a stack's resources the way CloudFormation does.

moto creates resources lazily (whatever a ``Ref`` reaches), lets an exception from a model
escape the API call (``ExecuteChangeSet`` answers 500 and the stack stays half-built), never
rolls back, and records no per-resource events. This engine drives moto's models instead:

- resources are created in dependency order, each with ``CREATE_IN_PROGRESS`` and
  ``CREATE_COMPLETE`` events;
- a failure (a model raising, a type the local cloud cannot honour, an output that cannot be
  resolved) writes ``CREATE_FAILED`` with the reason on that resource, deletes what was
  created and leaves the stack in ``ROLLBACK_COMPLETE``;
- an update creates, updates or replaces what changed (compared on resolved properties, so a
  resource whose inputs did not change is left alone), deletes what was removed only once all
  else succeeded, and on failure restores the previous resources and template
  (``UPDATE_ROLLBACK_COMPLETE``);
- a delete removes resources dependents-first, honouring ``DeletionPolicy: Retain``.

Everything runs synchronously inside the API call: when CreateStack or ExecuteChangeSet
returns, the stack has reached its final state.
"""

from __future__ import annotations

import contextlib
import copy
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import Event, Stack
from moto.cloudformation.parsing import ResourceMap, generate_resource_name
from moto.cloudformation.utils import random_suffix

from localcloud.cloudformation import dependencies, registry
from localcloud.cloudformation._patching import replace
from localcloud.cloudformation.registry import UnsupportedResourceType

# One stack operation at a time: moto's backends are plain dicts, and CloudFormation itself
# serialises operations on a stack. Re-entrant because a model may create a nested stack.
LOCK = threading.RLock()

Finalizer = Callable[[Stack], None]

# AWS limits on generated physical names (CloudFormation shortens stack and logical id).
_NAME_LIMITS = {
    "AWS::Lambda::Function": 64,
    "AWS::IAM::Role": 64,
    "AWS::IAM::User": 64,
    "AWS::IAM::ManagedPolicy": 128,
    "AWS::SQS::Queue": 80,
    "AWS::Events::Rule": 64,
    "AWS::StepFunctions::StateMachine": 80,
    "AWS::Kinesis::Stream": 128,
    "AWS::KinesisFirehose::DeliveryStream": 64,
    "AWS::CloudWatch::Alarm": 255,
    "AWS::SNS::Topic": 256,
}
_FIFO_PROPERTIES = {"AWS::SQS::Queue": "FifoQueue", "AWS::SNS::Topic": "FifoTopic"}
# Types whose generated names moto already shapes (lower-case buckets, short ELB names...).
_MOTO_NAMED_TYPES = {
    "AWS::S3::Bucket",
    "AWS::IAM::Policy",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
}


@dataclass
class ResourceRecord:
    """What a resource was last created or updated with."""

    resource_type: str
    physical_name: str
    resolved: dict[str, Any]

    @property
    def properties(self) -> dict[str, Any]:
        props = self.resolved.get("Properties")
        return props if isinstance(props, dict) else {}


@dataclass
class _UpdateStep:
    kind: str  # "add" | "update" | "replace"
    logical_id: str
    old_instance: Any = None
    old_record: ResourceRecord | None = None


@dataclass
class _Journal:
    steps: list[_UpdateStep] = field(default_factory=list)


def records(resource_map: ResourceMap) -> dict[str, ResourceRecord]:
    """The records of the resources of a stack, kept on its ResourceMap."""
    existing: dict[str, ResourceRecord] | None = getattr(resource_map, "localcloud_records", None)
    if existing is None:
        existing = {}
        resource_map.localcloud_records = existing  # type: ignore[attr-defined]
    return existing


def describe_error(exc: BaseException) -> str:
    """A one-line reason for a stack event, from whatever a model raised."""
    if isinstance(exc, UnsupportedResourceType):
        return str(exc)
    code = getattr(exc, "error_type", None) or getattr(exc, "code", None)
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message:
        text = message
    elif (
        isinstance(exc, ValueError)
        and len(exc.args) == 2
        and all(isinstance(arg, str) for arg in exc.args)
    ):
        # moto's Lambda raises ValueError(error_code, message).
        code, text = exc.args
    elif isinstance(exc, KeyError):
        text = f"{type(exc).__name__}: {exc}"
    else:
        text = str(exc) or type(exc).__name__
    if isinstance(code, str) and code and code not in text and not code.isdigit():
        return f'Resource handler returned message: "{text}" (HandlerErrorCode: {code})'
    return f'Resource handler returned message: "{text}"'


def _physical_id(instance: Any) -> str:
    value = getattr(instance, "physical_resource_id", None)
    return "" if value is None else str(value)


def _event(
    stack: Stack,
    logical_id: str,
    resource_type: str,
    status: str,
    *,
    physical_id: str = "",
    reason: str | None = None,
    properties: Mapping[str, Any] | None = None,
) -> None:
    event = Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=physical_id,
        resource_type=resource_type,
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=json.dumps(properties, default=str) if properties else None,
    )
    event.sendToSns(stack.account_id, stack.region_name, stack.notification_arns)
    stack.events.append(event)


def _stack_status(stack: Stack, status: str, reason: str | None = None) -> None:
    stack.status = status
    # DescribeStacks serialises StackStatusReason from this attribute.
    stack.status_reason = reason  # type: ignore[attr-defined]
    stack._add_stack_event(status, resource_status_reason=reason)


def _condition_holds(resource_map: ResourceMap, resource_json: Mapping[str, Any]) -> bool:
    condition = resource_json.get("Condition")
    return not condition or bool(resource_map.lazy_condition_map[condition])


def generate_name(
    resource_type: str, stack_name: str, logical_id: str, properties: Mapping[str, Any]
) -> str:
    """A physical name the way CloudFormation makes one: ``stack-Logical-RANDOM``.

    Shortened to the service's limit, and ending in ``.fifo`` for a FIFO queue or topic (SQS
    and SNS refuse a FIFO one whose name does not).
    """
    if resource_type in _MOTO_NAMED_TYPES:
        return generate_resource_name(resource_type, stack_name, logical_id)
    suffix = random_suffix()
    fifo_property = _FIFO_PROPERTIES.get(resource_type)
    fifo = fifo_property is not None and str(properties.get(fifo_property)).lower() == "true"
    tail = f"-{suffix}" + (".fifo" if fifo else "")
    stack_part, logical_part = stack_name, logical_id
    limit = _NAME_LIMITS.get(resource_type)
    available = None if limit is None else limit - len(tail) - 1
    if available is not None and len(stack_part) + len(logical_part) > available:
        # Shorten both, so the name still shows the stack and the logical id.
        logical_budget = min(len(logical_part), max(available // 2, available - len(stack_part)))
        logical_part = logical_part[:logical_budget]
        stack_part = stack_part[: available - len(logical_part)].rstrip("-")
    return f"{stack_part}-{logical_part}{tail}"


def _resolve(resource_json: Mapping[str, Any], resource_map: ResourceMap) -> dict[str, Any]:
    body = copy.deepcopy(dict(resource_json))
    if not isinstance(body.get("Properties"), dict):
        body["Properties"] = {}
    # Looked up on the module at call time: localcloud patches parsing.clean_json.
    resolved: dict[str, Any] = parsing.clean_json(body, resource_map)
    resolved.setdefault("Properties", {})
    return resolved


def _explicit_name(model: Any, properties: Mapping[str, Any]) -> str | None:
    name_property = model.cloudformation_name_type()
    if name_property and properties.get(name_property) not in (None, ""):
        return str(properties[name_property])
    return None


def create_resource(
    logical_id: str,
    resource_json: dict[str, Any],
    resources_map: ResourceMap,
    account_id: str,
    region_name: str,
) -> Any:
    """Drop-in for ``moto.cloudformation.parsing.parse_and_create_resource``.

    Same contract (``None`` when the resource's condition is false), but the type resolves
    through the registry (so unsupported types raise instead of vanishing), the generated name
    follows AWS limits, and what the resource was created with is recorded for updates.
    """
    if not _condition_holds(resources_map, resource_json):
        return None
    resource_type = resource_json["Type"]
    model = registry.resolve(resource_type)
    resolved = _resolve(resource_json, resources_map)
    properties = resolved["Properties"]
    stack_name = str(resources_map["AWS::StackName"])
    name = _explicit_name(model, properties) or generate_name(
        resource_type, stack_name, logical_id, properties
    )
    instance = model.create_from_cloudformation_json(
        name,
        resolved,
        account_id,
        region_name,
        LogicalId=logical_id,
        StackId=resources_map.stack_id,
        ResourceType=resource_type,
    )
    if instance is None:
        raise RuntimeError(f"the model for {resource_type} created nothing")
    if not isinstance(getattr(instance, "physical_resource_id", None), str):
        # Some moto models have no physical id, and Ref then returned the object itself;
        # CloudFormation's Ref of such types is the resource's name.
        with contextlib.suppress(AttributeError):
            instance.physical_resource_id = name
    instance.cf_resource_type = resource_type
    instance.logical_resource_id = logical_id
    records(resources_map)[logical_id] = ResourceRecord(resource_type, name, resolved)
    return instance


def _needs_replacement(model: Any, old: ResourceRecord, new_properties: Mapping[str, Any]) -> bool:
    decide = getattr(model, "requires_replacement", None)
    if callable(decide):
        return bool(decide(old.properties, new_properties))
    update = getattr(model, "update_from_cloudformation_json", None)
    # moto leaves update abstract on models it cannot update in place.
    return update is None or hasattr(update, "__isabstractmethod__")


def _update_resource(
    stack: Stack, logical_id: str, resource_json: Mapping[str, Any], journal: _Journal
) -> None:
    """Bring one existing resource to its new definition (or leave it if unchanged)."""
    resource_map = stack.resource_map
    old_record = records(resource_map)[logical_id]
    old_instance = resource_map._parsed_resources[logical_id]
    resource_type = resource_json["Type"]
    model = registry.resolve(resource_type)
    resolved = _resolve(resource_json, resource_map)
    new_properties = resolved["Properties"]
    if old_record.resource_type == resource_type and new_properties == old_record.properties:
        return
    _event(
        stack,
        logical_id,
        resource_type,
        "UPDATE_IN_PROGRESS",
        physical_id=_physical_id(old_instance),
    )
    replace = old_record.resource_type != resource_type or _needs_replacement(
        model, old_record, new_properties
    )
    explicit = _explicit_name(model, new_properties)
    if replace:
        unique = getattr(model, "NAME_IS_UNIQUE", True)
        if (
            unique
            and explicit is not None
            and explicit == _explicit_name(model, old_record.properties)
        ):
            raise ValidationError(
                message="CloudFormation cannot update a stack when a custom-named resource "
                f"requires replacing. Rename {explicit} and update the stack again."
            )
        _event(
            stack,
            logical_id,
            resource_type,
            "UPDATE_IN_PROGRESS",
            physical_id=_physical_id(old_instance),
            reason="Requested update requires the creation of a new physical resource; "
            "hence creating one.",
        )
        journal.steps.append(_UpdateStep("replace", logical_id, old_instance, old_record))
        del resource_map._parsed_resources[logical_id]
        new_instance = resource_map[logical_id]
    else:
        journal.steps.append(_UpdateStep("update", logical_id, old_instance, old_record))
        name = explicit or old_record.physical_name
        new_instance = model.update_from_cloudformation_json(
            original_resource=old_instance,
            new_resource_name=name,
            cloudformation_json=resolved,
            account_id=stack.account_id,
            region_name=stack.region_name,
        )
        if new_instance is None:
            raise RuntimeError(f"the model for {resource_type} returned nothing on update")
        new_instance.cf_resource_type = resource_type
        new_instance.logical_resource_id = logical_id
        resource_map._parsed_resources[logical_id] = new_instance
        records(resource_map)[logical_id] = ResourceRecord(resource_type, name, resolved)
    _event(
        stack, logical_id, resource_type, "UPDATE_COMPLETE", physical_id=_physical_id(new_instance)
    )


def _delete_resource(
    stack: Stack, logical_id: str, instance: Any, resource_json: Mapping[str, Any]
) -> bool:
    """Delete one resource with its events; False when deletion failed."""
    resource_type = str(resource_json.get("Type", getattr(instance, "cf_resource_type", "")))
    physical_id = _physical_id(instance)
    if resource_json.get("DeletionPolicy") == "Retain":
        _event(stack, logical_id, resource_type, "DELETE_SKIPPED", physical_id=physical_id)
        return True
    _event(stack, logical_id, resource_type, "DELETE_IN_PROGRESS", physical_id=physical_id)
    try:
        stack.resource_map._delete_resource(instance, dict(resource_json))
    except Exception as exc:
        _event(
            stack,
            logical_id,
            resource_type,
            "DELETE_FAILED",
            physical_id=physical_id,
            reason=describe_error(exc),
        )
        return False
    _event(stack, logical_id, resource_type, "DELETE_COMPLETE", physical_id=physical_id)
    return True


def _created_ids(resource_map: ResourceMap) -> list[str]:
    recs = records(resource_map)
    return [lid for lid in recs if lid in resource_map._parsed_resources]


def _delete_all(stack: Stack, resources_json: Mapping[str, Any]) -> list[str]:
    """Delete every created resource, dependents first; the logical ids that failed."""
    resource_map = stack.resource_map
    failed: list[str] = []
    order = dependencies.deletion_order(
        {lid: body for lid, body in resources_json.items() if isinstance(body, dict)},
        _created_ids(resource_map),
    )
    recs = records(resource_map)
    for logical_id in order:
        instance = resource_map._parsed_resources.get(logical_id)
        record = recs.get(logical_id)
        body = resources_json.get(logical_id) or (record.resolved if record else {})
        if _delete_resource(stack, logical_id, instance, body):
            resource_map._parsed_resources.pop(logical_id, None)
            recs.pop(logical_id, None)
        else:
            failed.append(logical_id)
    return failed


def _stringify_output(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def resolve_outputs(stack: Stack) -> None:
    """Evaluate every output now, so a bad output fails the operation rather than DescribeStacks.

    Also the fix for stacks created by change set: moto builds their output map from the
    empty template the change set started with, so they had no Outputs (measured).
    """
    stack.output_map = stack._create_output_map()
    for key in list(stack.output_map):
        output = stack.output_map[key]
        if output is not None and not isinstance(output.value, str):
            output.value = _stringify_output(output.value)
    _ = stack.output_map.exports


def _load_template(
    resource_map: ResourceMap, template: dict[str, Any], parameters: dict[str, Any]
) -> None:
    """Point a ResourceMap at a template and parameters (moto keeps both on the map)."""
    previous = resource_map._template or {}
    for key in list(previous.get("Parameters") or {}) + list(previous.get("Mappings") or {}):
        # Stale parameter values would shadow a new resource of the same logical id.
        if key not in records(resource_map):
            resource_map._parsed_resources.pop(key, None)
    resource_map._template = template
    resource_map._resource_json_map = template.get("Resources", {})
    resource_map.input_parameters = parameters
    resource_map.resolved_parameters = {}
    resource_map.load_mapping()
    resource_map.load_parameters()
    resource_map.load_conditions()


def _check_created(instance: Any) -> None:
    if instance is not None and not instance.is_created():
        raise RuntimeError("the resource did not finish creating")
    if isinstance(instance, Stack) and instance.status not in (
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
    ):
        # A nested stack is created through CreateStack, which rolls back instead of raising.
        reason = getattr(instance, "status_reason", None) or instance.status
        raise RuntimeError(
            f"Embedded stack {instance.stack_id} was not successfully created: {reason}"
        )


def create_stack_resources(stack: Stack, finalize: Finalizer | None = None) -> bool:
    """Create every resource of ``stack.template_dict``; roll back on the first failure.

    Returns True when the stack reached CREATE_COMPLETE.
    """
    resource_map = stack.resource_map
    template = stack.template_dict
    resource_map._template = template
    resource_map._resource_json_map = template.get("Resources", {})
    resource_map.tags.update(
        {"aws:cloudformation:stack-name": stack.name, "aws:cloudformation:stack-id": stack.stack_id}
    )
    stack.status = "CREATE_IN_PROGRESS"
    resources = resource_map._resource_json_map
    failed_id: str | None = None
    reason = ""
    for logical_id in dependencies.creation_order(resources):
        resource_json = resources[logical_id]
        if not _condition_holds(resource_map, resource_json):
            continue
        resource_type = resource_json["Type"]
        _event(stack, logical_id, resource_type, "CREATE_IN_PROGRESS")
        try:
            instance = resource_map[logical_id]
            _check_created(instance)
        except Exception as exc:
            failed_id, reason = logical_id, describe_error(exc)
            _event(stack, logical_id, resource_type, "CREATE_FAILED", reason=reason)
            break
        _event(
            stack, logical_id, resource_type, "CREATE_COMPLETE", physical_id=_physical_id(instance)
        )
    if failed_id is None:
        try:
            resolve_outputs(stack)
            if finalize is not None:
                finalize(stack)
        except Exception as exc:
            reason = f"Output evaluation failed: {describe_error(exc)}"
    if failed_id is None and not reason:
        stack.description = template.get("Description")
        _stack_status(stack, "CREATE_COMPLETE")
        return True
    summary = (
        f"The following resource(s) failed to create: [{failed_id}]. Rollback requested by user."
        if failed_id
        else reason
    )
    _stack_status(stack, "ROLLBACK_IN_PROGRESS", summary)
    leftovers = _delete_all(stack, resources)
    # Nothing is left to list; an empty map also keeps moto from re-creating resources lazily
    # when something iterates the stack's resources.
    resource_map._resource_json_map = {}
    stack.output_map = _empty_outputs(stack)
    if leftovers:
        _stack_status(stack, "ROLLBACK_FAILED", f"Failed to delete: [{', '.join(leftovers)}]")
    else:
        _stack_status(stack, "ROLLBACK_COMPLETE", summary)
    return False


def _empty_outputs(stack: Stack) -> Any:
    from moto.cloudformation.parsing import OutputMap

    return OutputMap(stack.resource_map, {}, stack.stack_id)


@dataclass
class _StackSnapshot:
    template: Any
    template_dict: dict[str, Any]
    parameters: dict[str, Any]
    description: str | None
    output_map: Any
    original: Any
    transformed: Any


def update_stack_resources(
    stack: Stack,
    template_text: str,
    template: dict[str, Any],
    parameters: dict[str, Any],
    finalize: Finalizer | None = None,
) -> bool:
    """Update ``stack`` to ``template``; on failure restore it. True on UPDATE_COMPLETE."""
    resource_map = stack.resource_map
    snapshot = _StackSnapshot(
        template=stack.template,
        template_dict=stack.template_dict,
        parameters=stack.parameters,
        description=stack.description,
        output_map=stack.output_map,
        original=getattr(stack, "localcloud_original_template", None),
        transformed=getattr(stack, "localcloud_transformed", None),
    )
    old_resources = dict(resource_map._resource_json_map)
    old_parameters = dict(resource_map.input_parameters)
    # Outputs are built from the stack's own template: it must be the new one from here on.
    stack.template = template_text
    stack.template_dict = template
    stack.parameters = parameters
    _stack_status(stack, "UPDATE_IN_PROGRESS", "User Initiated")
    recs = records(resource_map)
    journal = _Journal()
    failed_id: str | None = None
    reason = ""
    current: tuple[str, str] | None = None
    phase = "template"
    try:
        _load_template(resource_map, template, parameters)
        resources = resource_map._resource_json_map
        phase = "resources"
        for logical_id in dependencies.creation_order(resources):
            resource_json = resources[logical_id]
            if not _condition_holds(resource_map, resource_json):
                continue
            resource_type = resource_json["Type"]
            current = (logical_id, resource_type)
            if logical_id in recs and logical_id in resource_map._parsed_resources:
                _update_resource(stack, logical_id, resource_json, journal)
                continue
            _event(stack, logical_id, resource_type, "CREATE_IN_PROGRESS")
            journal.steps.append(_UpdateStep("add", logical_id))
            instance = resource_map[logical_id]
            _check_created(instance)
            _event(
                stack,
                logical_id,
                resource_type,
                "CREATE_COMPLETE",
                physical_id=_physical_id(instance),
            )
        current = None
        phase = "outputs"
        resolve_outputs(stack)
        if finalize is not None:
            finalize(stack)
    except Exception as exc:
        reason = describe_error(exc)
        if current is not None:
            failed_id = current[0]
            step_kinds = {step.logical_id: step.kind for step in journal.steps}
            status = "CREATE_FAILED" if step_kinds.get(failed_id) == "add" else "UPDATE_FAILED"
            _event(stack, failed_id, current[1], status, reason=reason)
        elif phase == "outputs":
            reason = f"Output evaluation failed: {reason}"
    if failed_id is None and not reason:
        _finish_update(stack, old_resources, journal)
        return True
    _roll_back_update(stack, snapshot, old_resources, old_parameters, journal, failed_id, reason)
    return False


def _finish_update(stack: Stack, old_resources: Mapping[str, Any], journal: _Journal) -> None:
    """The cleanup phase: delete what the new template removed and what was replaced."""
    resource_map = stack.resource_map
    recs = records(resource_map)
    _stack_status(stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    resources = resource_map._resource_json_map
    removed = [
        lid
        for lid in _created_ids(resource_map)
        if lid not in resources or not _condition_holds(resource_map, resources[lid])
    ]
    for logical_id in dependencies.deletion_order(dict(old_resources), removed):
        instance = resource_map._parsed_resources.get(logical_id)
        record = recs.get(logical_id)
        body = old_resources.get(logical_id) or (record.resolved if record else {})
        # CloudFormation reports a failed cleanup delete but keeps the update.
        _delete_resource(stack, logical_id, instance, body)
        resource_map._parsed_resources.pop(logical_id, None)
        recs.pop(logical_id, None)
    for step in reversed(journal.steps):
        if step.kind == "replace" and step.old_record is not None:
            body = old_resources.get(step.logical_id) or step.old_record.resolved
            _delete_resource(stack, step.logical_id, step.old_instance, body)
    _stack_status(stack, "UPDATE_COMPLETE")


def _roll_back_update(
    stack: Stack,
    snapshot: _StackSnapshot,
    old_resources: dict[str, Any],
    old_parameters: dict[str, Any],
    journal: _Journal,
    failed_id: str | None,
    reason: str,
) -> None:
    resource_map = stack.resource_map
    recs = records(resource_map)
    summary = f"The following resource(s) failed to update: [{failed_id}]." if failed_id else reason
    _stack_status(stack, "UPDATE_ROLLBACK_IN_PROGRESS", summary)
    _load_template(resource_map, snapshot.template_dict, old_parameters)
    resource_map._resource_json_map = old_resources
    problems: list[str] = []
    for step in reversed(journal.steps):
        logical_id = step.logical_id
        current = resource_map._parsed_resources.get(logical_id)
        try:
            if step.kind == "add":
                if current is not None:
                    record = recs.get(logical_id)
                    body = record.resolved if record else {}
                    if not _delete_resource(stack, logical_id, current, body):
                        problems.append(logical_id)
                resource_map._parsed_resources.pop(logical_id, None)
                recs.pop(logical_id, None)
            elif step.kind == "replace" and step.old_record is not None:
                if current is not None:
                    record = recs.get(logical_id)
                    if not _delete_resource(
                        stack, logical_id, current, record.resolved if record else {}
                    ):
                        problems.append(logical_id)
                resource_map._parsed_resources[logical_id] = step.old_instance
                recs[logical_id] = step.old_record
            elif step.kind == "update" and step.old_record is not None and current is not None:
                old = step.old_record
                _event(
                    stack,
                    logical_id,
                    old.resource_type,
                    "UPDATE_IN_PROGRESS",
                    physical_id=_physical_id(current),
                )
                model = registry.resolve(old.resource_type)
                restored = model.update_from_cloudformation_json(
                    original_resource=current,
                    new_resource_name=old.physical_name,
                    cloudformation_json=copy.deepcopy(old.resolved),
                    account_id=stack.account_id,
                    region_name=stack.region_name,
                )
                restored.cf_resource_type = old.resource_type
                restored.logical_resource_id = logical_id
                resource_map._parsed_resources[logical_id] = restored
                recs[logical_id] = old
                _event(
                    stack,
                    logical_id,
                    old.resource_type,
                    "UPDATE_COMPLETE",
                    physical_id=_physical_id(restored),
                )
        except Exception as exc:
            problems.append(logical_id)
            _event(stack, logical_id, "", "UPDATE_FAILED", reason=describe_error(exc))
    stack.template = snapshot.template
    stack.template_dict = snapshot.template_dict
    stack.parameters = snapshot.parameters
    stack.description = snapshot.description
    stack.output_map = snapshot.output_map
    if problems:
        _stack_status(
            stack, "UPDATE_ROLLBACK_FAILED", f"Failed to roll back: [{', '.join(problems)}]"
        )
    else:
        _stack_status(stack, "UPDATE_ROLLBACK_COMPLETE", summary)


def delete_stack_resources(stack: Stack) -> bool:
    """Delete every resource of the stack, dependents first. True on DELETE_COMPLETE."""
    _stack_status(stack, "DELETE_IN_PROGRESS", "User Initiated")
    resources = dict(stack.resource_map._resource_json_map)
    failed = _delete_all(stack, resources)
    if failed:
        _stack_status(
            stack,
            "DELETE_FAILED",
            f"The following resource(s) failed to delete: [{', '.join(failed)}]. ",
        )
        return False
    stack.resource_map._resource_json_map = {}
    _stack_status(stack, "DELETE_COMPLETE")
    return True


def install() -> None:
    import moto.cloudformation.parsing as parsing

    replace(
        parsing,
        "parse_and_create_resource",
        create_resource,
        "ResourceMap creates resources through it: types via the registry, AWS-style names, "
        "records for updates",
    )

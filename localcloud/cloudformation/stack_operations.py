"""CreateStack, UpdateStack, CreateChangeSet, ExecuteChangeSet, DeleteStack on the stack engine.

Each function below replaces the moto function of the same name on
``moto.cloudformation.models.CloudFormationBackend`` (moto 5.2.5) and keeps its signature:

- ``create_stack``: moto builds resources lazily and lets a model's exception escape. Here
  the template is prepared (SAM transform, see ``templates``), validated like CloudFormation
  (undefined references, cycles), and created by the engine with events and rollback.
- ``update_stack``: moto updates without validation, rollback or the "No updates are to be
  performed." answer (it compares raw strings in the response layer only).
- ``create_change_set``: runs the transform before moto sees the template, and refuses a
  CREATE change set for a stack that already exists (moto would create a second one).
- ``execute_change_set``: moto applies a CREATE change set to the empty template it started
  with, so the stack got no Outputs (measured, DESIGN.md section 5), and an exception answered
  500. Here CREATE builds the stack from the change set's template with the engine; UPDATE
  goes through the engine's update.
- ``delete_stack``: moto raises on the first resource it cannot delete; here the stack goes to
  DELETE_FAILED (and stays listed) like on AWS.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import AlreadyExistsException, ValidationError
from moto.cloudformation.models import CloudFormationBackend, Stack
from moto.cloudformation.parsing import ResourceMap
from moto.cloudformation.utils import generate_stack_id

from localcloud.cloudformation import engine
from localcloud.cloudformation._patching import replace
from localcloud.cloudformation.dependencies import validate_references
from localcloud.cloudformation.templates import PreparedTemplate, prepare_template

_ORIGINAL: dict[str, Any] = {}

# A stack in any of these states accepts an update (CloudFormation's rule).
_UPDATABLE = {
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
}


def _prepare(
    backend: CloudFormationBackend, template: str, parameters: dict[str, Any], stack_name: str
) -> PreparedTemplate:
    prepared = prepare_template(
        template,
        parameters,
        region=backend.region_name,
        account_id=backend.account_id,
        stack_name=stack_name,
    )
    validate_references(prepared.processed_dict)
    return prepared


def _dry_run_parameters(
    backend: CloudFormationBackend,
    stack_name: str,
    template: dict[str, Any],
    parameters: dict[str, Any],
) -> ResourceMap:
    """Load parameters, conditions and outputs as moto's Stack would, without creating anything.

    Surfaces missing parameters and bad output attributes as API errors before the stack
    changes, as CloudFormation validates them synchronously.
    """
    resource_map = ResourceMap(
        stack_id=generate_stack_id(stack_name, backend.region_name, backend.account_id),
        stack_name=stack_name,
        parameters=parameters,
        tags={},
        region_name=backend.region_name,
        account_id=backend.account_id,
        template=template,
        cross_stack_resources=backend.exports,
    )
    resource_map.load()
    return resource_map


def remember_template(target: Any, prepared: PreparedTemplate) -> None:
    """Keep the caller's template on a stack or change set for GetTemplate(Original)."""
    target.localcloud_original_template = prepared.original
    target.localcloud_transformed = prepared.transformed


def _exports_finalizer(backend: CloudFormationBackend) -> engine.Finalizer:
    def publish(stack: Stack) -> None:
        exports = stack.exports
        for export in exports:
            owner = backend.exports.get(export.name)
            if owner is not None and owner.exporting_stack_id != stack.stack_id:
                raise ValidationError(
                    message=f"Export with name {export.name} is already exported by stack "
                    f"{owner.exporting_stack_id.split('/')[1]}"
                )
        for name in [
            n for n, e in backend.exports.items() if e.exporting_stack_id == stack.stack_id
        ]:
            del backend.exports[name]
        for export in exports:
            backend.exports[export.name] = export

    return publish


def create_stack(
    self: CloudFormationBackend,
    name: str,
    template: str,
    parameters: dict[str, Any],
    notification_arns: list[str] | None = None,
    tags: dict[str, str] | None = None,
    role_arn: str | None = None,
    enable_termination_protection: bool | None = False,
    timeout_in_mins: int | None = None,
    stack_policy_body: str | None = None,
) -> Stack:
    if name in [stack.name for stack in self.stacks.values()]:
        raise AlreadyExistsException(f"Stack [{name}] already exists")
    prepared = _prepare(self, template, parameters, name)
    stack_id = generate_stack_id(name, self.region_name, self.account_id)
    # Stack() loads parameters and validates outputs: errors there are API errors, as on AWS.
    stack = Stack(  # type: ignore[abstract]  # (moto instantiates it the same way)
        stack_id=stack_id,
        name=name,
        template=prepared.processed,
        parameters=parameters,
        account_id=self.account_id,
        region_name=self.region_name,
        notification_arns=notification_arns,
        tags=tags,
        role_arn=role_arn,
        cross_stack_resources=self.exports,
        enable_termination_protection=enable_termination_protection,
        timeout_in_mins=timeout_in_mins,
        stack_policy_body=stack_policy_body,
    )
    remember_template(stack, prepared)
    self.stacks[stack_id] = stack
    stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
    with engine.LOCK:
        engine.create_stack_resources(stack, _exports_finalizer(self))
    return stack


def update_stack(
    self: CloudFormationBackend,
    name: str,
    template: str,
    role_arn: str | None,
    parameters: list[dict[str, Any]],
    tags: dict[str, str] | None,
) -> Stack:
    stack = self.get_stack(name)
    if stack.status not in _UPDATABLE:
        raise ValidationError(
            message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated."
        )
    resolved = self._resolve_update_parameters(instance=stack, incoming_params=parameters)
    prepared = _prepare(self, template, resolved, stack.name)
    dry = _dry_run_parameters(self, stack.name, prepared.processed_dict, resolved)
    if (
        prepared.processed_dict == stack.template_dict
        and dry.resolved_parameters == stack.resource_map.resolved_parameters
        and (tags is None or tags == stack.tags)
    ):
        raise ValidationError(stack.name, message="No updates are to be performed.")
    with engine.LOCK:
        ok = engine.update_stack_resources(
            stack, prepared.processed, prepared.processed_dict, resolved, _exports_finalizer(self)
        )
    if ok:
        _commit_template(stack, prepared, resolved)
        stack.role_arn = role_arn
        if tags is not None:
            stack.tags = tags
    return stack


def _commit_template(stack: Stack, prepared: PreparedTemplate, parameters: dict[str, Any]) -> None:
    stack.template = prepared.processed
    stack.template_dict = prepared.processed_dict
    stack.parameters = parameters
    stack.description = prepared.processed_dict.get("Description")
    remember_template(stack, prepared)


def create_change_set(
    self: CloudFormationBackend,
    stack_name: str,
    change_set_name: str,
    template: str,
    parameters: dict[str, str],
    description: str,
    change_set_type: str,
    notification_arns: list[str] | None = None,
    tags: dict[str, str] | None = None,
    role_arn: str | None = None,
) -> tuple[str, str]:
    existing = [stack for stack in self.stacks.values() if stack.name == stack_name]
    if change_set_type == "CREATE":
        for stack in existing:
            if stack.status != "REVIEW_IN_PROGRESS":
                raise AlreadyExistsException(
                    f"Stack [{stack_name}] already exists and cannot be created again with the "
                    f"changeSet [{change_set_name}]."
                )
            # CloudFormation reuses a stack still in review; moto would add a second one.
            del self.stacks[stack.stack_id]
            for cs_id in [i for i, cs in self.change_sets.items() if cs.stack_id == stack.stack_id]:
                del self.change_sets[cs_id]
    elif existing and existing[0].status not in _UPDATABLE:
        raise ValidationError(
            message=f"Stack:{existing[0].stack_id} is in {existing[0].status} state and can not "
            "be updated."
        )
    prepared = _prepare(self, template, parameters, stack_name)
    _dry_run_parameters(self, stack_name, prepared.processed_dict, parameters)
    original = _ORIGINAL["create_change_set"]
    change_set_id, stack_id = original(
        self,
        stack_name=stack_name,
        change_set_name=change_set_name,
        template=prepared.processed,
        parameters=parameters,
        description=description,
        change_set_type=change_set_type,
        notification_arns=notification_arns,
        tags=tags,
        role_arn=role_arn,
    )
    change_set = self.change_sets[change_set_id]
    change_set.localcloud_prepared = prepared  # type: ignore[attr-defined]
    remember_template(change_set, prepared)
    return change_set_id, stack_id


def _find_change_set(
    backend: CloudFormationBackend, change_set_name: str, stack_name: str | None
) -> Any:
    if change_set_name in backend.change_sets:
        return backend.change_sets[change_set_name]
    for change_set in backend.change_sets.values():
        if change_set.change_set_name == change_set_name and (
            not stack_name or stack_name in (change_set.stack_name, change_set.stack_id)
        ):
            return change_set
    raise ValidationError(message=f"ChangeSet [{change_set_name}] does not exist")


def execute_change_set(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> None:
    change_set = _find_change_set(self, change_set_name, stack_name)
    if change_set.execution_status != "AVAILABLE":
        raise ValidationError(
            message=f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current "
            f"status of [{change_set.status}]"
        )
    stack = self.stacks.get(change_set.stack_id)
    if stack is None:
        raise ValidationError(stack_name or change_set.stack_name)
    prepared: PreparedTemplate | None = getattr(change_set, "localcloud_prepared", None)
    if prepared is None:
        prepared = _prepare(self, change_set.template, change_set.parameters, stack.name)
    change_set.execution_status = "EXECUTE_IN_PROGRESS"
    with engine.LOCK:
        if change_set.change_set_type == "CREATE":
            _commit_template(stack, prepared, change_set.parameters)
            stack.cross_stack_resources = self.exports
            stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
            try:
                stack.resource_map = stack._create_resource_map()
            except Exception as exc:
                # Validated when the change set was created; a failure here still must not 500.
                engine._stack_status(stack, "ROLLBACK_COMPLETE", engine.describe_error(exc))
            else:
                engine.create_stack_resources(stack, _exports_finalizer(self))
        else:
            ok = engine.update_stack_resources(
                stack,
                prepared.processed,
                prepared.processed_dict,
                dict(change_set.parameters),
                _exports_finalizer(self),
            )
            if ok:
                _commit_template(stack, prepared, dict(change_set.parameters))
                if change_set.tags:
                    stack.tags = change_set.tags
    change_set.execution_status = "EXECUTE_COMPLETE"
    # Executing a change set deletes the other change sets of the stack (CloudFormation's rule).
    for other_id in [
        cs_id
        for cs_id, cs in self.change_sets.items()
        if cs.stack_id == change_set.stack_id and cs is not change_set
    ]:
        del self.change_sets[other_id]


def delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
    stack = self.stacks.get(name_or_stack_id)
    if stack is None:
        stack = next((s for s in self.stacks.values() if s.name == name_or_stack_id), None)
    if stack is None:
        # Deleting a stack that does not exist succeeds (CloudFormation's rule).
        return
    if stack.status == "DELETE_COMPLETE":
        return
    with engine.LOCK:
        ok = engine.delete_stack_resources(stack)
    if not ok:
        return
    self.stacks.pop(stack.stack_id, None)
    self.deleted_stacks[stack.stack_id] = stack
    for export_name in [
        n for n, e in self.exports.items() if e.exporting_stack_id == stack.stack_id
    ]:
        del self.exports[export_name]
    for change_set_id in [
        cs_id for cs_id, cs in self.change_sets.items() if cs.stack_id == stack.stack_id
    ]:
        del self.change_sets[change_set_id]


def stack_resources(self: Stack) -> list[Any]:
    """Replaces the ``Stack.stack_resources`` property: only resources that exist.

    moto's version iterates the lazy ResourceMap, which creates any resource not created yet
    (after a rollback, that re-created the rolled-back resources) and yields ``None`` for
    resources whose condition is false.
    """
    resource_map = self.resource_map
    created = engine.records(resource_map)
    return [
        resource_map._parsed_resources[lid]
        for lid in created
        if resource_map._parsed_resources.get(lid) is not None
    ]


_REASONS = {
    "create_stack": "transform, validation, events and rollback",
    "update_stack": "transform, 'No updates are to be performed.', rollback",
    "create_change_set": "transform before moto parses the template",
    "execute_change_set": "Outputs of change-set stacks; failures roll back instead of 500",
    "delete_stack": "DELETE_FAILED instead of an exception",
}


def install() -> None:
    for function in (
        create_stack,
        update_stack,
        create_change_set,
        execute_change_set,
        delete_stack,
    ):
        name = function.__name__
        _ORIGINAL[name] = replace(CloudFormationBackend, name, function, _REASONS[name])
    replace(
        Stack,
        "stack_resources",
        property(stack_resources),
        "iterating the lazy ResourceMap re-created rolled-back resources",
    )

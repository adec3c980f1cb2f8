"""Which CloudFormation resource types the local cloud honours, and with which model.

Replaces ``moto.cloudformation.parsing.resource_class_from_type``: moto answers ``None`` for
a type it has no model for, logs a warning and skips the resource, so a stack "deploys" with
pieces missing. Here every type resolves to exactly one of:

- a model of this package (``localcloud.cloudformation.models``), which wins over moto's model
  of the same type (moto's drop properties or return objects from ``Ref``);
- moto's own model, for the types it handles well enough;
- :class:`NoLocalEffect`, for the explicit allow-list below: accepted and recorded, nothing
  emulated, because nothing observable in the local cloud depends on them;
- :class:`Unsupported`, whose creation fails the resource with a reason naming the type, so
  the stack rolls back instead of deploying something that is not what the template says.
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel

from localcloud.cloudformation._patching import replace

# Types accepted with no local effect. Each entry says why ignoring it changes nothing a test
# or a person can observe on the local cloud.
NO_LOCAL_EFFECT: dict[str, str] = {
    "AWS::CloudFormation::WaitConditionHandle": "a URL to signal; nothing waits on it locally",
    "AWS::Logs::MetricFilter": "the local cloud does not derive CloudWatch metrics from logs",
    "AWS::XRay::Group": "traces are not collected by the local cloud",
    "AWS::XRay::SamplingRule": "traces are not collected by the local cloud",
    "AWS::CloudWatch::CompositeAlarm": "alarms are never evaluated by the local cloud",
    "AWS::CloudWatch::AnomalyDetector": "alarms are never evaluated by the local cloud",
    "AWS::ResourceGroups::Group": "a console grouping; no runtime behaviour",
    "AWS::ApplicationInsights::Application": "monitoring dashboards; no runtime behaviour",
}

# Types moto has a model for that the local cloud must not use as they are. Custom resources
# run asynchronously in moto (a thread and a callback that marks the stack complete behind the
# stack engine's back), which the synchronous engine cannot follow.
REFUSED_MOTO_TYPES: dict[str, str] = {
    "AWS::CloudFormation::CustomResource": "custom resources are not supported yet",
}

_LOCAL_MODELS: dict[str, type[CloudFormationModel]] = {}


def register(model: type[CloudFormationModel]) -> type[CloudFormationModel]:
    """Class decorator: make ``model`` the local cloud's model for its CloudFormation type."""
    _LOCAL_MODELS[model.cloudformation_type()] = model
    return model


class UnsupportedResourceType(Exception):
    """A resource of a type the local cloud cannot honour."""

    def __init__(self, resource_type: str, detail: str = "") -> None:
        self.resource_type = resource_type
        message = f"Resource type {resource_type} is not supported by the local cloud"
        if resource_type.startswith("AWS::Serverless::"):
            message += " (the template must declare Transform: AWS::Serverless-2016-10-31)"
        elif detail:
            message += f" ({detail})"
        super().__init__(message)


class Unsupported:
    """Stand-in model for a type nobody models: creating it fails with a clear reason.

    Deliberately not a CloudFormationModel subclass, so it never joins moto's model list.
    """

    def __init__(self, resource_type: str, detail: str = "") -> None:
        self.resource_type = resource_type
        self.detail = detail

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    def has_cfn_attr(self, attr: str) -> bool:
        # Output validation runs before creation; the creation failure is the better message.
        return True

    def create_from_cloudformation_json(self, *args: Any, **kwargs: Any) -> Any:
        raise UnsupportedResourceType(self.resource_type, self.detail)

    def update_from_cloudformation_json(self, *args: Any, **kwargs: Any) -> Any:
        raise UnsupportedResourceType(self.resource_type, self.detail)

    def delete_from_cloudformation_json(self, *args: Any, **kwargs: Any) -> None:
        # Never created, so there is nothing to delete.
        return None


def resolve(resource_type: str) -> Any:
    """The model class (or stand-in) for ``resource_type``; never ``None``."""
    from moto.cloudformation.parsing import get_model_map

    from localcloud.cloudformation.models.no_local_effect import NoLocalEffect

    if resource_type in _LOCAL_MODELS:
        return _LOCAL_MODELS[resource_type]
    if resource_type in NO_LOCAL_EFFECT:
        return NoLocalEffect
    if resource_type in REFUSED_MOTO_TYPES:
        return Unsupported(resource_type, REFUSED_MOTO_TYPES[resource_type])
    if resource_type.startswith("Custom::"):
        return Unsupported(resource_type, REFUSED_MOTO_TYPES["AWS::CloudFormation::CustomResource"])
    model = get_model_map().get(resource_type)
    if model is not None:
        return model
    return Unsupported(resource_type)


def is_supported(resource_type: str) -> bool:
    """True when a resource of this type can be created on the local cloud."""
    return not isinstance(resolve(resource_type), Unsupported)


def local_model_types() -> list[str]:
    """The types modelled by this package (for documentation and tests)."""
    return sorted(_LOCAL_MODELS)


def resource_class_from_type(resource_type: str) -> Any:
    """Drop-in for ``moto.cloudformation.parsing.resource_class_from_type``."""
    return resolve(resource_type)


def install() -> None:
    """Make moto's parser resolve types through :func:`resolve`."""
    import moto.cloudformation.parsing as parsing

    # Import the models so they register (and join CloudFormationModel.__subclasses__()).
    import localcloud.cloudformation.models  # noqa: F401

    replace(
        parsing,
        "resource_class_from_type",
        resource_class_from_type,
        "unknown types must fail the stack, and local models win over moto's",
    )
    # moto caches its model list; rebuild it so the local models are part of it too.
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()

"""Template preparation: parse what the caller sent, run the SAM transform server-side.

CloudFormation accepts YAML or JSON and expands ``Transform: AWS::Serverless-2016-10-31``
before it creates anything. moto does neither well: it ignores ``Transform`` and parses YAML
with a loader that turns ``2012-10-17`` into a date and mangles mapping-valued short-form tags.
So every template entering the local cloud goes through :func:`prepare_template`: parsed once
here, transformed with aws-sam-translator when it declares the SAM transform, and handed to
moto as JSON text (``PreparedTemplate.processed``). The text the caller sent is kept
(``PreparedTemplate.original``) for ``GetTemplate(TemplateStage=Original)``, which
``sam delete`` reads to find the artifacts it uploaded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml
from moto.cloudformation.exceptions import ValidationError

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that reads CloudFormation the way CloudFormation does.

    Short-form intrinsics (``!Ref``, ``!GetAtt a.b``, ``!Sub``...) become their long form, and
    timestamps stay strings: ``Version: 2012-10-17`` in a policy must not become a date.
    """


# Drop the timestamp resolver on the subclass only (SafeLoader itself stays untouched).
_CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _intrinsic(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = tag_suffix
    key = name if name in ("Ref", "Condition") else f"Fn::{name}"
    value: Any
    if name == "GetAtt" and isinstance(node, yaml.ScalarNode):
        # The short form accepts "Resource.Attribute"; the attribute may itself hold dots.
        value = str(loader.construct_scalar(node)).split(".", 1)
    elif isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {key: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def parse_template(text: str) -> dict[str, Any]:
    """Parse a JSON or YAML CloudFormation template; ValidationError when it is not one."""
    try:
        parsed = json.loads(text)
    except ValueError:
        try:
            parsed = yaml.load(text, Loader=_CfnLoader)  # a SafeLoader subclass
        except yaml.YAMLError as exc:
            raise ValidationError(message=f"Template format error: {exc}") from exc
    if not isinstance(parsed, dict):
        raise ValidationError(message="Template format error: JSON not well-formed.")
    return parsed


def declared_transforms(template: Mapping[str, Any]) -> list[str]:
    """The transform names of a template (``Transform`` may be a string or a list)."""
    raw = template.get("Transform")
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    names: list[str] = []
    for item in items:
        # A transform may be given as {"Name": ..., "Parameters": ...} (macros, AWS::Include).
        names.append(str(item.get("Name")) if isinstance(item, dict) else str(item))
    return names


@dataclass(frozen=True)
class PreparedTemplate:
    """A template as the caller sent it and as moto must see it."""

    original: str
    processed: str
    processed_dict: dict[str, Any]
    transformed: bool


class OfflineManagedPolicyLoader:
    """Resolves AWS-managed policy names to ARNs without calling IAM.

    samtranslator first looks a name up in the map it bundles (which covers the policies SAM
    templates use: AWSLambdaBasicExecutionRole, AWSXrayWriteOnlyAccess...). It asks this loader
    only for names missing there; moto ships the full list of AWS-managed policies, so the
    answer is the same as IAM's ``ListPolicies(Scope=AWS)`` without a network call.
    """

    def load(self) -> dict[str, str]:
        return dict(_moto_managed_policy_map())


@lru_cache(maxsize=1)
def _moto_managed_policy_map() -> dict[str, str]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    data = json.loads(aws_managed_policies_data)
    return {
        name: f"arn:aws:iam::aws:policy{doc.get('Path', '/')}{name}" for name, doc in data.items()
    }


# samtranslator keeps the region of the boto session in class attributes (ArnGenerator), so two
# transforms for different regions must not interleave.
_TRANSFORM_LOCK = threading.Lock()


@lru_cache(maxsize=8)
def _boto_session(region: str) -> Any:
    import boto3

    return boto3.session.Session(region_name=region)


def sam_transform(
    template: dict[str, Any],
    parameters: Mapping[str, Any],
    *,
    region: str,
    account_id: str,
    stack_name: str,
) -> dict[str, Any]:
    """Expand ``AWS::Serverless::*`` resources as CloudFormation's SAM transform does.

    Mirrors ``samtranslator.translator.transform.transform`` but binds the region explicitly
    (that helper reads it from the environment) and resolves managed policies offline.
    """
    from samtranslator.model.exceptions import ExceptionWithMessage
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import (
        to_py27_compatible_template,
        undo_mark_unicode_str_in_template,
    )

    parameter_values: dict[str, Any] = dict(parameters)
    parameter_values.setdefault("AWS::Region", region)
    parameter_values.setdefault("AWS::AccountId", account_id)
    parameter_values.setdefault("AWS::StackName", stack_name)
    loader = OfflineManagedPolicyLoader()
    with _TRANSFORM_LOCK:
        try:
            to_py27_compatible_template(template, parameter_values)
            translator = Translator(None, Parser(), boto_session=_boto_session(region))
            transformed = translator.translate(
                template,
                parameter_values=parameter_values,
                get_managed_policy_map=loader.load,
            )
        except ExceptionWithMessage as exc:
            # The same wording CloudFormation uses, with every cause SAM found.
            causes = " ".join(cause.message for cause in getattr(exc, "causes", []))
            raise ValidationError(
                message=f"Transform {SAM_TRANSFORM} failed with: {exc.message} {causes}".strip()
            ) from exc
    result: dict[str, Any] = undo_mark_unicode_str_in_template(transformed)
    return result


def prepare_template(
    text: str,
    parameters: Mapping[str, Any],
    *,
    region: str,
    account_id: str,
    stack_name: str,
) -> PreparedTemplate:
    """Parse ``text``, apply its transform if it declares SAM's, and return both forms.

    Any other transform (macros, ``AWS::LanguageExtensions``, ``AWS::Include``) is refused
    with a ValidationError rather than ignored: a template silently deployed without its
    transform is a different application.
    """
    template = parse_template(text)
    transforms = declared_transforms(template)
    unsupported = [name for name in transforms if name != SAM_TRANSFORM]
    if unsupported:
        raise ValidationError(
            message=f"Transform {', '.join(unsupported)} is not supported by the local cloud"
        )
    if transforms:
        processed_dict = sam_transform(
            template, parameters, region=region, account_id=account_id, stack_name=stack_name
        )
    else:
        processed_dict = template
    return PreparedTemplate(
        original=text,
        processed=json.dumps(processed_dict),
        processed_dict=processed_dict,
        transformed=bool(transforms),
    )

"""CloudFormation on the local cloud: SAM apps deploy as they would on AWS.

``install(settings)`` runs in the server process, before moto serves its first request, and
patches moto's CloudFormation (each concern in its own module, each patch naming the moto
function it replaces and why; moto is pinned exactly and the tests in
``tests/localcloud/test_cloudformation_*.py`` are what detects an upgrade that breaks one):

- ``templates``: templates are parsed once, and ``Transform: AWS::Serverless-2016-10-31`` is
  expanded server-side with aws-sam-translator, offline;
- ``template_urls``: ``TemplateURL`` pointing at the local cloud itself (``sam deploy`` sends
  ``http://127.0.0.1:PORT/bucket/key``) is read from moto's S3 backend;
- ``registry``: every resource type resolves to a model, to the documented no-local-effect
  allow-list, or to a failure naming the type; nothing is skipped silently;
- ``engine`` and ``stack_operations``: stacks are created, updated and deleted in dependency
  order with per-resource events, rollback on failure, and outputs resolved (also for stacks
  created by change set);
- ``template_parsing`` and ``template_stages``: JSON-first parsing and GetTemplate stages;
- ``bucket_policy_conditions``: a bucket policy's conditional statements are not applied
  unconditionally (SAM's managed bucket would refuse every upload);
- ``fn_sub``: ``${Resource.Attribute.Path}`` in ``Fn::Sub`` splits at the first dot, as AWS;
- ``update_parameters``: ``UsePreviousValue`` takes the value in effect, defaults included;
- ``iam_roles``: inline policies of CloudFormation-made roles are stored as JSON and follow
  stack updates;
- ``models``: the resource models moto lacks or gets wrong (API Gateway REST with a Swagger
  body, Stage, Deployment, Lambda functions with their layers, layer versions whose ``Ref``
  is the ARN, permissions, SNS subscriptions, policies, alarms...).
"""

from __future__ import annotations

import threading

from localcloud.settings import CloudSettings

_INSTALLED = False
_INSTALL_LOCK = threading.Lock()


def install(settings: CloudSettings | None = None) -> None:
    """Patch moto's CloudFormation in this process (idempotent)."""
    global _INSTALLED
    with _INSTALL_LOCK:
        if _INSTALLED:
            return
        from localcloud.cloudformation import (
            bucket_policy_conditions,
            engine,
            fn_sub,
            iam_roles,
            registry,
            stack_operations,
            template_parsing,
            template_stages,
            template_urls,
            update_parameters,
        )

        registry.install()
        template_urls.install()
        template_parsing.install()
        template_stages.install()
        stack_operations.install()
        bucket_policy_conditions.install()
        iam_roles.install()
        fn_sub.install()
        update_parameters.install()
        engine.install()
        _INSTALLED = True
    threading.Thread(target=_warm_translator, name="localcloud-sam-import", daemon=True).start()


def _warm_translator() -> None:
    # Importing samtranslator takes ~0.5 s (pydantic models); pay it off the request path.
    import samtranslator.translator.translator  # noqa: F401

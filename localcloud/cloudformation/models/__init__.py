"""CloudFormation models the local cloud adds to moto, or uses instead of moto's.

Importing this package registers every model (``registry.register``) and, since each is a
direct subclass of ``CloudFormationModel``, adds it to moto's model list as well.
"""

from localcloud.cloudformation.models import (  # noqa: F401
    apigateway,
    apigateway_usage,
    apigatewayv2,
    awslambda,
    cloudwatch,
    dynamodb,
    elasticache,
    firehose,
    messaging,
    misc,
    no_local_effect,
    rds,
    stepfunctions,
)

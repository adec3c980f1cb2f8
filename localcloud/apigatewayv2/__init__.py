"""The API Gateway data plane of HTTP APIs (API Gateway v2, ``AWS::Serverless::HttpApi``).

Module by module: :mod:`.app` (WSGI glue and the dispatch between HTTP and REST APIs),
:mod:`.gateway` (the request pipeline), :mod:`.routing` (stage and route selection),
:mod:`.events` (the 2.0 and 1.0 Lambda events), :mod:`.responses` (the Lambda answer as the
HTTP response), :mod:`.authorizers` (Lambda authorizers), :mod:`.jwt_authorizer` (JWT
authorizers), :mod:`.cors`, :mod:`.throttling`, :mod:`.http_proxy` (``HTTP_PROXY``
integrations), :mod:`.model` and :mod:`.moto_catalog` (deployed APIs read from moto).
"""

from localcloud.apigatewayv2.app import ExecuteApiDispatch, HttpApiApp

__all__ = ["ExecuteApiDispatch", "HttpApiApp"]

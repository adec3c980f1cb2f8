"""Functions call an API at its AWS address (localcloud.apigateway.https_endpoint).

AWS rule (API Gateway developer guide, "Invoking a REST API"): a deployed stage is reached at
``https://{restapi_id}.execute-api.{region}.amazonaws.com/{stage_name}/``, over TLS with a
certificate valid for that host name, and the integration sees that ``Host``. A function
that got such a URL from a stack output must reach the local cloud's API with the same
code: here through the local cloud's HTTPS listener, its certificate verified against the
CA bundle the worker gets, nothing switched off.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import certifi
import pytest
from botocore.exceptions import ClientError
from cryptography import x509

sys.path.insert(0, str(Path(__file__).parent))
from _cfn_helpers import create, outputs, unique, upload_zip

from localcloud.apigateway.https_endpoint import (
    EXECUTE_API_HOST,
    ensure_tls_files,
    host_names,
    tls_files,
)

BACKEND = """
    import json

    def handler(event, context):
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({
                "host": event["headers"].get("Host"),
                "path": event["path"],
                "stage": event["requestContext"]["stage"],
            }),
        }
"""

CALLER = """
    import json
    import os
    import urllib.error
    import urllib.request

    def handler(event, context):
        url = os.environ["API_URL"] + event["path"]
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return {"status": response.status, "body": json.loads(response.read())}
        except urllib.error.HTTPError as error:
            return {"status": error.code, "body": error.read().decode()}
"""


@pytest.fixture
def api_and_caller(aws: Callable[..., Any]) -> Iterator[dict[str, str]]:
    cfn = aws("cloudformation")
    stack_name = unique("https-endpoint")
    template = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Api": {"Type": "AWS::Serverless::Api", "Properties": {"StageName": "v1"}},
            "Backend": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Runtime": "python3.13",
                    "Handler": "app.handler",
                    "CodeUri": {
                        "Bucket": "BACKEND_BUCKET",
                        "Key": "BACKEND_KEY",
                    },
                    "Events": {
                        "Get": {
                            "Type": "Api",
                            "Properties": {
                                "RestApiId": {"Ref": "Api"},
                                "Path": "/greetings/{name}",
                                "Method": "GET",
                            },
                        }
                    },
                },
            },
            "Caller": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Runtime": "python3.13",
                    "Handler": "app.handler",
                    "Timeout": 15,
                    "CodeUri": {"Bucket": "CALLER_BUCKET", "Key": "CALLER_KEY"},
                    "Environment": {
                        "Variables": {
                            "API_URL": {
                                "Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.amazonaws.com/v1"
                            }
                        }
                    },
                },
            },
        },
        "Outputs": {
            "Caller": {"Value": {"Ref": "Caller"}},
            "ApiId": {"Value": {"Ref": "Api"}},
        },
    }
    backend = upload_zip(aws, {"app.py": BACKEND})
    caller = upload_zip(aws, {"app.py": CALLER})
    text = (
        json.dumps(template)
        .replace("BACKEND_BUCKET", backend["S3Bucket"])
        .replace("BACKEND_KEY", backend["S3Key"])
        .replace("CALLER_BUCKET", caller["S3Bucket"])
        .replace("CALLER_KEY", caller["S3Key"])
    )
    yield outputs(create(cfn, stack_name, text))
    with contextlib.suppress(ClientError):
        cfn.delete_stack(StackName=stack_name)


def _call_through(aws: Callable[..., Any], caller: str, path: str) -> dict[str, Any]:
    response = aws("lambda").invoke(FunctionName=caller, Payload=json.dumps({"path": path}))
    payload = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, payload
    return dict(payload)


def test_a_function_reaches_an_api_at_its_https_execute_api_url(
    aws: Callable[..., Any], api_and_caller: dict[str, str]
) -> None:
    answer = _call_through(aws, api_and_caller["Caller"], "/greetings/ada")

    assert answer["status"] == 200
    assert answer["body"] == {
        "host": f"{api_and_caller['ApiId']}.execute-api.us-east-1.amazonaws.com",
        "path": "/greetings/ada",
        "stage": "v1",
    }


def test_an_unknown_route_answers_as_api_gateway_does(
    aws: Callable[..., Any], api_and_caller: dict[str, str]
) -> None:
    answer = _call_through(aws, api_and_caller["Caller"], "/nothing-here")

    assert answer["status"] == 403
    assert "Missing Authentication Token" in answer["body"]


def test_the_certificate_names_every_region_and_only_the_local_authority_signs_it(
    tmp_path: Path,
) -> None:
    files = ensure_tls_files(tmp_path, ["xx-test-1"])
    assert files == tls_files(tmp_path)
    trusting = ssl.create_default_context(cafile=str(files.ca_bundle))
    public_roots_only = ssl.create_default_context(cafile=certifi.where())
    names = host_names(["xx-test-1", "us-east-1"])

    certificate = x509.load_pem_x509_certificate(files.certificate.read_bytes())
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert set(names) <= set(san.value.get_values_for_type(x509.DNSName))
    assert EXECUTE_API_HOST.match("abc123.execute-api.xx-test-1.amazonaws.com")
    # The bundle trusts the local authority; the public roots alone do not.
    assert _verifies(trusting, files.certificate)
    assert not _verifies(public_roots_only, files.certificate)
    # Made once: a second call keeps the same files.
    before = files.certificate.read_bytes()
    assert ensure_tls_files(tmp_path, ["xx-test-1"]).certificate.read_bytes() == before


def _verifies(context: ssl.SSLContext, certificate: Path) -> bool:
    """Whether ``context`` accepts ``certificate`` served by a real TLS handshake."""
    files = tls_files(certificate.parent)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(files.certificate, files.private_key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        connection, _ = listener.accept()
        with contextlib.suppress(ssl.SSLError, OSError):
            server_context.wrap_socket(connection, server_side=True).close()
        connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        host = "abc123.execute-api.us-east-1.amazonaws.com"
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return True
    except ssl.SSLCertVerificationError:
        return False
    finally:
        thread.join(timeout=5)
        listener.close()


def test_a_kept_certificate_close_to_expiry_is_made_again(tmp_path: Path) -> None:
    made = datetime.datetime.now(datetime.UTC)
    before = ensure_tls_files(tmp_path, now=made).certificate.read_bytes()

    assert ensure_tls_files(tmp_path, now=made).certificate.read_bytes() == before
    later = made + datetime.timedelta(days=380)  # under 30 days of its 397 left
    assert ensure_tls_files(tmp_path, now=later).certificate.read_bytes() != before

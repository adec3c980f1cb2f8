"""The local cloud process: moto in server mode, plus what moto lacks.

One werkzeug server on loopback answers every AWS API through moto, the API Gateway data
plane (REST and HTTP APIs) under ``/_aws/execute-api/{api_id}/{stage}/...`` and a small admin
API under ``/_localcloud/`` (``/health``; ``/faults``, the Lambda fault switch of
:mod:`localcloud.awslambda.faults`). Each concern (Lambda runtime, CloudFormation models,
API Gateway) lives in its own subpackage and is installed into moto here, in the one process
that holds moto's state.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from localcloud.apigateway.https_endpoint import HttpsEndpoint, ensure_tls_files
from localcloud.settings import ADMIN_PREFIX, EXECUTE_API_PREFIX, CloudSettings

log = logging.getLogger("localcloud")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalCloud:
    """Starts and stops the embedded AWS on loopback, in this process."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, state_dir: Path | None = None
    ) -> None:
        self.host = host
        self.port = port or _free_port(host)
        state = state_dir or Path(os.environ.get("LOCALCLOUD_STATE_DIR", ".localcloud"))
        self.settings = CloudSettings(
            endpoint_url=f"http://{host}:{self.port}",
            state_dir=state.resolve(),
            execute_api_https_port=_free_port("127.0.0.1"),
        )
        self._server: BaseWSGIServer | None = None
        self._https: HttpsEndpoint | None = None
        self._thread: threading.Thread | None = None
        self._shutdown_hooks: list[Callable[[], None]] = []

    @property
    def endpoint_url(self) -> str:
        return self.settings.endpoint_url

    def start(self) -> None:
        """Install the local cloud into moto and serve until :meth:`stop`."""
        # Step Functions' interpreter and moto's own callbacks dial this port.
        os.environ["MOTO_PORT"] = str(self.port)
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        app = self._build_app()
        # Functions call APIs at their https://{api}.execute-api.{region}.amazonaws.com URL.
        self._https = HttpsEndpoint(
            app,
            ensure_tls_files(self.settings.tls_dir, [self.settings.region]),
            self.settings.execute_api_https_port,
        )
        self._https.start()
        self._server = make_server(self.host, self.port, app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="localcloud-http", daemon=True
        )
        self._thread.start()
        log.info("local cloud listening on %s", self.endpoint_url)

    def stop(self) -> None:
        """Stop every Lambda worker and the HTTP server; leaves no process behind."""
        for hook in reversed(self._shutdown_hooks):
            try:
                hook()
            except Exception:  # a failing hook must not keep the others from running
                log.exception("shutdown hook failed")
        if self._https is not None:
            self._https.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _build_app(self) -> WsgiApp:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        from localcloud import apigateway, awslambda, cloudformation, rds
        from localcloud.apigatewayv2 import ExecuteApiDispatch, HttpApiApp
        from localcloud.awslambda import event_sources
        from localcloud.dynamodb import install as install_dynamodb
        from localcloud.elasticache import install as install_elasticache
        from localcloud.firehose import install as install_firehose
        from localcloud.logs import install as install_logs
        from localcloud.sqs import install as install_sqs
        from localcloud.stepfunctions import install as install_stepfunctions

        self._shutdown_hooks.append(event_sources.install(self.settings))
        self._shutdown_hooks.append(awslambda.install(self.settings))
        self._shutdown_hooks.append(rds.install(self.settings))
        self._shutdown_hooks.append(install_elasticache(self.settings))
        self._shutdown_hooks.append(install_firehose(self.settings))
        cloudformation.install(self.settings)
        install_sqs(self.settings)
        install_logs(self.settings)
        install_dynamodb(self.settings)
        install_stepfunctions(self.settings)
        # HTTP APIs (v2) and REST APIs share the execute-api URL; the API id tells them apart.
        execute_api = ExecuteApiDispatch(
            apigateway.ExecuteApiApp(self.settings), HttpApiApp(self.settings)
        )
        moto_app = DomainDispatcherApplication(create_backend_app)
        return _Dispatcher(moto_app, execute_api, self.settings)


class _Dispatcher:
    """Routes a request to the API Gateway data plane, the admin API, or moto."""

    def __init__(self, moto_app: WsgiApp, execute_api: WsgiApp, settings: CloudSettings) -> None:
        self._moto = moto_app
        self._execute_api = execute_api
        self._settings = settings

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path: str = environ.get("PATH_INFO", "")
        if path.startswith(EXECUTE_API_PREFIX + "/"):
            return self._execute_api(environ, start_response)
        if path.startswith(ADMIN_PREFIX + "/"):
            return self._admin(path[len(ADMIN_PREFIX) :], environ, start_response)
        return self._moto(environ, start_response)

    def _admin(
        self, path: str, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes]:
        if path == "/faults" or path.startswith("/faults/"):
            from localcloud.awslambda.faults import handle_admin

            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length > 0 else b""
            status, document = handle_admin(
                str(environ.get("REQUEST_METHOD", "GET")).upper(),
                path[len("/faults") :],
                str(environ.get("QUERY_STRING", "")),
                body,
            )
            reason = HTTPStatus(status).phrase
            start_response(f"{status} {reason}", [("Content-Type", "application/json")])
            return [json.dumps(document).encode()]
        if path == "/health":
            body = json.dumps(
                {"status": "ready", "endpoint_url": self._settings.endpoint_url}
            ).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [json.dumps({"message": f"unknown admin path {path}"}).encode()]

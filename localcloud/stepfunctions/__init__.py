"""Step Functions state machines that really execute.

moto answers the Step Functions API from a plain backend that records executions but runs
nothing, unless its configuration says ``{"stepfunctions": {"execute_state_machine": true}}``
(what ``POST /moto-api/config`` sets, DESIGN.md section 5): then the API is served by
moto's ASL interpreter, which runs Task, Retry, Catch, Wait, Choice, Parallel, Map, ... and
calls the services a Task integrates with (``arn:aws:states:::lambda:invoke``, a plain
function ARN, ``dynamodb:*``, ...) through boto3 at ``http://localhost:$MOTO_PORT``, i.e.
this local cloud, so a Lambda Task runs the real function. :class:`LocalCloud` sets
``MOTO_PORT`` to its own port before it installs anything.

``localcloud.cloudformation.models.stepfunctions`` creates a stack's state machines in the
backend the API serves, so they run as well. ``tests/localcloud/test_stepfunctions_execution.py``
checks the behaviours the apps rely on.
"""

from __future__ import annotations

from localcloud.settings import CloudSettings


def install(settings: CloudSettings) -> None:
    """Turn state machine execution on in this process (idempotent); nothing to shut down."""
    from moto.core.config import default_user_config

    del settings  # nothing to tune yet; the signature is the one every install shares
    # A new dict at the top level: mock_aws(config=...) restores top-level keys on exit.
    default_user_config["stepfunctions"] = {"execute_state_machine": True}

"""Layers and the runtime: what a handler can import is what Lambda would let it import.

Layers are extracted under /opt and their ``python/`` folder (and
``python/lib/python3.X/site-packages``) is on the path; the runtime provides boto3; nothing
of the development environment is visible, so a dependency missing from a layer fails
locally as it would on Lambda.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import aws_lambda_powertools
import pytest
import typing_extensions

IMPORTS = """
    import importlib

    def handler(event, context):
        found = {}
        for name in event["modules"]:
            try:
                module = importlib.import_module(name)
                found[name] = getattr(module, "__file__", None) or "builtin"
            except ImportError:
                found[name] = None
        return found
"""

SITE_PACKAGES = f"python/lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"


def _tree(package: Path, prefix: str) -> dict[str, bytes]:
    """Every file of an installed package (no __pycache__) as ``{prefix/pkg/...: bytes}``."""
    return {
        f"{prefix}/{path.relative_to(package.parent).as_posix()}": path.read_bytes()
        for path in sorted(package.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def powertools_layer_files() -> Mapping[str, bytes]:
    """Powertools as a layer ships it: the package and its own dependency, under python/."""
    files = _tree(Path(aws_lambda_powertools.__file__).parent, "python")
    files["python/typing_extensions.py"] = Path(typing_extensions.__file__).read_bytes()
    return files


def test_layer_package_is_importable(make_layer, make_function, invoke):
    """A package under the layer's python/ folder is importable by the handler."""
    layer = make_layer({"python/greetings/__init__.py": "WORD = 'hello from the layer'\n"})
    name = make_function(
        "from greetings import WORD\n\ndef handler(event, context):\n    return WORD\n",
        layers=[layer],
    )

    assert invoke(name, {}).payload == "hello from the layer"


def test_layer_site_packages_folder_is_on_the_path(make_layer, make_function, invoke):
    """python/lib/python3.X/site-packages of a layer is on the path too (pip --target layout)."""
    layer = make_layer({f"{SITE_PACKAGES}/deep_pkg.py": "VALUE = 7\n"})
    name = make_function(
        "import deep_pkg\n\ndef handler(event, context):\n    return deep_pkg.VALUE\n",
        layers=[layer],
    )

    assert invoke(name, {}).payload == 7


def test_later_layer_overrides_an_earlier_one(make_layer, make_function, invoke):
    """Layers are unpacked in order into one /opt: a later layer's file replaces the earlier."""
    first = make_layer({"python/which.py": "NAME = 'first'\n"})
    second = make_layer({"python/which.py": "NAME = 'second'\n"})
    name = make_function(
        "import which\n\ndef handler(event, context):\n    return which.NAME\n",
        layers=[first, second],
    )

    assert invoke(name, {}).payload == "second"


def test_powertools_without_its_layer_is_an_import_error(make_function, invoke):
    """The development environment has Powertools, the Lambda runtime does not: without a
    layer the handler fails with Runtime.ImportModuleError."""
    name = make_function(
        "from aws_lambda_powertools import Logger\n\ndef handler(event, context):\n    pass\n"
    )

    result = invoke(name, {})

    assert result.payload["errorType"] == "Runtime.ImportModuleError"
    assert "aws_lambda_powertools" in result.payload["errorMessage"]


def test_powertools_with_its_layer_works(
    make_layer: Callable[..., str],
    make_function,
    invoke,
    powertools_layer_files: Mapping[str, bytes],
):
    """The same handler works once Powertools comes from a layer."""
    layer = make_layer(powertools_layer_files)
    name = make_function(
        """
        from aws_lambda_powertools import Logger

        logger = Logger(service="layer-test")

        def handler(event, context):
            logger.info("from powertools")
            return Logger.__module__
        """,
        layers=[layer],
    )

    result = invoke(name, {}, log_type="Tail")

    assert result.function_error is None, result.payload
    assert result.payload == "aws_lambda_powertools.logging.logger"
    assert '"message":"from powertools"' in result.log


def test_runtime_provides_boto3_but_not_the_development_environment(make_function, invoke):
    """boto3 and botocore come with the runtime; moto, pytest and the interpreter's own
    site-packages (pip) are not on a worker's path."""
    name = make_function(IMPORTS)

    found = invoke(name, {"modules": ["boto3", "botocore", "moto", "pytest", "pip"]}).payload

    assert found["boto3"] is not None
    assert found["botocore"] is not None
    assert found["moto"] is None
    assert found["pytest"] is None
    assert found["pip"] is None

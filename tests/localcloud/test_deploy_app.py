"""The local cloud's own deploy path: build for the host, package, create or update a stack."""

from __future__ import annotations

import os
import shutil
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
import requests

from localcloud.deploy import DeployError, delete_app, deploy_app, deploy_template
from localcloud.packaging import (
    Artifact,
    PackagingError,
    package_template,
    tree_digest,
    zip_directory,
)
from localcloud.urls import local_execute_api_url

sys.path.insert(0, str(Path(__file__).parent))
from _cfn_helpers import FIXTURES, events, unique

FIXTURE_APP = FIXTURES / "cfn_app"


def _tree(root: Path, files: dict[str, str]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def test_zip_is_deterministic(tmp_path):
    """The same files give the same zip bytes whatever their timestamps or the order they were
    written in, so unchanged code keeps its S3 key and an update has nothing to do."""
    first = _tree(
        tmp_path / "a", {"pkg/handler.py": "x = 1\n", "pkg/__init__.py": "", "z.txt": "z"}
    )
    second = _tree(
        tmp_path / "b", {"z.txt": "z", "pkg/__init__.py": "", "pkg/handler.py": "x = 1\n"}
    )
    os.utime(second / "z.txt", (1_000_000, 1_000_000))

    assert zip_directory(first) == zip_directory(first)
    assert zip_directory(first) == zip_directory(second)
    assert tree_digest(first) == tree_digest(second)

    (second / "pkg" / "handler.py").write_text("x = 2\n")
    assert zip_directory(first) != zip_directory(second)
    assert tree_digest(first) != tree_digest(second)


def test_zip_keeps_the_executable_bit(tmp_path):
    """Lambda extracts zips with their Unix modes: a layer's executables must stay executable."""
    folder = _tree(tmp_path, {"bin/tool": "#!/bin/sh\n", "lib.py": ""})
    (folder / "bin" / "tool").chmod(0o755)

    with zipfile.ZipFile(BytesIO(zip_directory(folder))) as archive:
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert modes == {"bin/tool": 0o100755, "lib.py": 0o100644}


def test_package_rewrites_every_artifact_uri(tmp_path):
    """Every property SAM packages (CodeUri, ContentUri, DefinitionUri, Code, Content,
    BodyS3Location...) that names a local path points at S3 afterwards; S3 locations and
    inline code are left alone."""
    _tree(tmp_path, {"Fn/app.py": "", "Layer/python/l.py": "", "api.yaml": "openapi: 3.0.1\n"})
    uploaded: list[str] = []

    def upload(digest, suffix, produce):
        data = produce()
        assert data
        uploaded.append(digest + suffix)
        return Artifact("bucket", digest + suffix)

    template = {
        "Globals": {"Function": {"Runtime": "python3.13"}},
        "Resources": {
            "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "Fn"}},
            "Same": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "Fn"}},
            "Layer": {
                "Type": "AWS::Serverless::LayerVersion",
                "Properties": {"ContentUri": "Layer"},
            },
            "Api": {"Type": "AWS::Serverless::Api", "Properties": {"DefinitionUri": "api.yaml"}},
            "Raw": {"Type": "AWS::Lambda::Function", "Properties": {"Code": "Fn"}},
            "RawLayer": {"Type": "AWS::Lambda::LayerVersion", "Properties": {"Content": "Layer"}},
            "RestApi": {
                "Type": "AWS::ApiGateway::RestApi",
                "Properties": {"BodyS3Location": "api.yaml"},
            },
            "Remote": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "s3://b/k.zip"},
            },
            "Inline": {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"ZipFile": "x"}}},
        },
    }
    packaged = package_template(template, tmp_path, upload)

    resources = packaged["Resources"]
    fn_uri = resources["Fn"]["Properties"]["CodeUri"]
    assert fn_uri.startswith("s3://bucket/")
    assert fn_uri.endswith(".zip")
    assert resources["Same"]["Properties"]["CodeUri"] == fn_uri
    assert resources["Layer"]["Properties"]["ContentUri"].startswith("s3://bucket/")
    assert resources["Api"]["Properties"]["DefinitionUri"].endswith(".yaml")
    assert resources["Raw"]["Properties"]["Code"] == {
        "S3Bucket": "bucket",
        "S3Key": fn_uri[len("s3://bucket/") :],
    }
    assert set(resources["RawLayer"]["Properties"]["Content"]) == {"S3Bucket", "S3Key"}
    assert set(resources["RestApi"]["Properties"]["BodyS3Location"]) == {"Bucket", "Key"}
    assert resources["Remote"]["Properties"]["CodeUri"] == "s3://b/k.zip"
    assert resources["Inline"]["Properties"]["Code"] == {"ZipFile": "x"}
    assert len(uploaded) == 3  # the folder zipped once, the layer once, the definition once
    assert template["Resources"]["Fn"]["Properties"]["CodeUri"] == "Fn"  # input untouched


def test_package_refuses_a_missing_path(tmp_path):
    template = {
        "Resources": {
            "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "nope"}}
        }
    }
    with pytest.raises(PackagingError, match="does not exist"):
        package_template(template, tmp_path, lambda digest, suffix, produce: Artifact("b", digest))


def test_failed_deploy_raises_with_the_resource_reasons(local_cloud):
    """A stack that rolls back makes the deploy fail with CloudFormation's reasons, not a
    bare status."""
    stack_name = unique("deploy-fail")
    template = {"Resources": {"Thing": {"Type": "AWS::Foo::Bar"}}}
    with pytest.raises(DeployError) as raised:
        deploy_template(template, endpoint_url=local_cloud.endpoint_url, stack_name=stack_name)

    assert "ROLLBACK_COMPLETE" in str(raised.value)
    assert any(
        "AWS::Foo::Bar is not supported by the local cloud" in r for r in raised.value.reasons
    )
    # A failed creation leaves a ROLLBACK_COMPLETE stack; the next deploy replaces it.
    fixed = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"T": {"Value": {"Ref": "Topic"}}},
    }
    values = deploy_template(fixed, endpoint_url=local_cloud.endpoint_url, stack_name=stack_name)
    assert values["T"].startswith("arn:aws:sns:")
    delete_app(endpoint_url=local_cloud.endpoint_url, stack_name=stack_name)


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("local-build")


@pytest.mark.slow
def test_deploy_app_end_to_end(local_cloud, aws, build_dir):
    """deploy_app builds the app with sam build, packages it, applies the app's samconfig
    (parameter overrides, tags) and returns the outputs; the deployed API answers through a
    function that imports its layer; deploying unchanged code again changes nothing; an
    override updates the stack; delete_app removes it."""
    stack_name = unique("deploy-app")
    cfn = aws("cloudformation")
    try:
        values = deploy_app(
            FIXTURE_APP,
            endpoint_url=local_cloud.endpoint_url,
            stack_name=stack_name,
            build_dir=build_dir,
        )
        assert set(values) >= {"ApiUrl", "LayerArn", "FunctionName", "TableName"}
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        assert {"Key": "fixture", "Value": "cfn-app"} in stack["Tags"]  # from samconfig.toml
        url = local_execute_api_url(f"{values['ApiUrl']}/greetings/ada", local_cloud.endpoint_url)
        assert requests.get(url, timeout=30).json() == {
            "message": "bonjour, ada"
        }  # samconfig override
        config = aws("lambda").get_function(FunctionName=values["FunctionName"])
        assert config["Concurrency"]["ReservedConcurrentExecutions"] == 2

        before = len(events(cfn, stack_name))
        again = deploy_app(
            FIXTURE_APP,
            endpoint_url=local_cloud.endpoint_url,
            stack_name=stack_name,
            build=False,
            build_dir=build_dir,
        )
        assert again == values
        assert len(events(cfn, stack_name)) == before  # "No updates are to be performed."

        deploy_app(
            FIXTURE_APP,
            endpoint_url=local_cloud.endpoint_url,
            stack_name=stack_name,
            parameter_overrides={"Greeting": "hola"},
            build=False,
            build_dir=build_dir,
        )
        assert (
            cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]
            == "UPDATE_COMPLETE"
        )
        assert requests.get(url, timeout=30).json() == {"message": "hola, ada"}
    finally:
        delete_app(endpoint_url=local_cloud.endpoint_url, stack_name=stack_name)
    summaries = cfn.list_stacks(StackStatusFilter=["DELETE_COMPLETE"])["StackSummaries"]
    assert stack_name in [s["StackName"] for s in summaries]


@pytest.mark.slow
def test_changed_code_updates_the_function(local_cloud, aws, tmp_path):
    """A code change gives a new artifact key, so the function's code is updated in place
    (same function, new code) and the API serves the new code."""
    app = tmp_path / "cfn_app"
    shutil.copytree(FIXTURE_APP, app)
    stack_name = unique("deploy-code")
    build = tmp_path / "build"
    try:
        values = deploy_app(
            app, endpoint_url=local_cloud.endpoint_url, stack_name=stack_name, build_dir=build
        )
        handler = app / "src" / "cfn_fixture_app" / "handler.py"
        handler.write_text(handler.read_text().replace('"message"', '"text"'))
        updated = deploy_app(
            app, endpoint_url=local_cloud.endpoint_url, stack_name=stack_name, build_dir=build
        )

        assert updated["FunctionName"] == values["FunctionName"]
        url = local_execute_api_url(f"{values['ApiUrl']}/greetings/bo", local_cloud.endpoint_url)
        assert requests.get(url, timeout=30).json() == {"text": "bonjour, bo"}
    finally:
        delete_app(endpoint_url=local_cloud.endpoint_url, stack_name=stack_name)

"""CDK app: the Scoresby pipeline stack, checked by cdk-nag's AwsSolutions rules on every synth."""

from __future__ import annotations

import os

from aws_cdk import App, Environment, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from infra.pipeline_stack import PipelineStack
from infra.settings import PipelineSettings
from scoresby.core.contract import STACK_NAME


def build_app(app: App | None = None) -> App:
    """The app with its one stack; an explicit account/region only when the CLI knows them (credentials)."""
    app = app or App()
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    env = Environment(account=account, region=region) if account and region else None
    stack = PipelineStack(app, STACK_NAME, settings=PipelineSettings.from_context(app.node), env=env)
    Tags.of(stack).add("project", "scoresby")  # cost allocation; Batch propagates it to jobs and instances
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    build_app().synth()

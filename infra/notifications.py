"""SNS topic for run summaries and per-scene failures: KMS-encrypted, TLS-only, optional e-mail."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


class Notifications(Construct):
    """The topic the state machine publishes to; `topic.grant_publish` also grants use of its key."""

    def __init__(self, scope: Construct, construct_id: str, *, email: str | None = None) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self, "Key", enable_key_rotation=True, description="Scoresby notification topic encryption"
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="Scoresby",
            master_key=self.key,
            enforce_ssl=True,
        )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

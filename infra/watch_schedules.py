"""One EventBridge Scheduler schedule per watch, each starting the state machine with {"watch": ...}."""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.watch_settings import WatchSetting


class WatchSchedules(Construct):
    """The watches' schedules and the one role they use, which may only start this state machine."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        watches: Sequence[WatchSetting],
        state_machine: sfn.IStateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        self.schedules: list[scheduler.Schedule] = []
        self.role: iam.Role | None = None
        if not watches:
            return
        account = Stack.of(self).account
        # Only this account's schedules may assume it (confused-deputy guard of the Scheduler docs).
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": account}}
            ),
            description="Scoresby watches: start the pipeline's state machine, nothing else",
        )
        for watch in watches:
            target = targets.StepFunctionsStartExecution(
                state_machine,
                input=scheduler.ScheduleTargetInput.from_object(watch.execution_input()),
                role=self.role,
                retry_attempts=3,
                max_event_age=Duration.hours(6),
            )
            self.schedules.append(
                scheduler.Schedule(
                    self,
                    f"Watch-{watch.name}",
                    schedule=scheduler.ScheduleExpression.expression(watch.schedule),
                    target=target,
                    description=f"Scoresby watch {watch.name} (run {watch.run_name})",
                )
            )


def watches_output(watches: Sequence[WatchSetting]) -> str:
    """The stack output `scoresby watches --stack` reads: name, run and schedule of each watch."""
    return json.dumps(
        [{"name": w.name, "run_name": w.run_name, "schedule": w.schedule} for w in watches],
        separators=(",", ":"),
    )

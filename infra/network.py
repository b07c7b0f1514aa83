"""The VPC of the Batch instances: an existing one by id, or public subnets and an S3 gateway endpoint."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct


class Network(Construct):
    """No NAT gateway: instances get public IPs for ECR/CloudWatch and reach S3 via the gateway endpoint."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc_id: str | None = None,
        max_azs: int = 2,
        log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS,
    ) -> None:
        super().__init__(scope, construct_id)
        if vpc_id:
            # Needs an explicit account/region and credentials at first synth (cached in cdk.context.json).
            self.vpc: ec2.IVpc = ec2.Vpc.from_lookup(self, "Vpc", vpc_id=vpc_id)
            return
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=max_azs,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=20)
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
            # No custom resource to strip the default security group: nothing in this VPC uses it.
            restrict_default_security_group=False,
        )
        flow_logs = logs.LogGroup(
            self, "FlowLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )
        self.vpc = vpc

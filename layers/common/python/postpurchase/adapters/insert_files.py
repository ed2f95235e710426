"""The packing-insert batches' PDFs in S3 (insert/batches.BatchFiles).

AWS requests: put_pdf one PutObject; download_url none (a presigned GET is signed locally)."""
from __future__ import annotations

from functools import lru_cache

from botocore.exceptions import BotoCoreError, ClientError

from ..config import ConfigurationError, settings
from ..errors import RetryLater
from .aws import client


@lru_cache(maxsize=1)
def _signer():
    """An S3 client that presigns with Signature V4 (boto3's default V2 is refused by newer regions)."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client("s3", region_name=settings().aws_region,
                                          config=Config(signature_version="s3v4"))


class S3InsertFiles:
    def __init__(self, bucket: str | None, url_ttl_seconds: int) -> None:
        if not bucket:
            raise ConfigurationError("INSERTS_BUCKET is not set (template.yaml, Globals)")
        self.bucket = bucket
        self.url_ttl_seconds = url_ttl_seconds

    def put_pdf(self, key: str, body: bytes) -> None:
        try:
            client("s3").put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/pdf",
                                    ServerSideEncryption="AES256")
        except (ClientError, BotoCoreError) as error:
            raise RetryLater(f"could not store {key}: {error}") from error

    def download_url(self, key: str, filename: str) -> tuple[str, int]:
        """A presigned GET of the PDF, and its lifetime in seconds."""
        url = _signer().generate_presigned_url("get_object", ExpiresIn=self.url_ttl_seconds, Params={
            "Bucket": self.bucket, "Key": key, "ResponseContentType": "application/pdf",
            "ResponseContentDisposition": f'attachment; filename="{filename}"'})
        return url, self.url_ttl_seconds

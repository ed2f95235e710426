"""S3 for review photos and feeds: presigned POST uploads (private `uploads/`), the cleaned
copies and the feeds (served `public/`). Nothing above this module imports botocore."""
from __future__ import annotations

from typing import Any

from ..errors import NotAllowed, RetryLater
from .aws import client

UPLOADS = "uploads/"
PUBLIC = "public/"


class S3ReviewMedia:
    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def presigned_post(self, key: str, fields: dict[str, str], conditions: list[Any], expires: int) -> dict[str, Any]:
        return client("s3").generate_presigned_post(self.bucket, key, Fields=fields, Conditions=conditions,
                                                    ExpiresIn=expires)

    def read_upload(self, key: str, max_bytes: int) -> bytes:
        """The uploaded bytes (at most max_bytes + 1 read); a missing upload names `upload_id`."""
        from botocore.exceptions import ClientError

        try:
            answer = client("s3").get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{max_bytes}")
            return answer["Body"].read(max_bytes + 1)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "InvalidRange"):
                raise NotAllowed("no photo was uploaded for this upload_id", field="upload_id") from None
            raise RetryLater(f"could not read the upload: {code}") from error

    def delete(self, key: str) -> None:
        client("s3").delete_object(Bucket=self.bucket, Key=key)

    def copy(self, source: str, key: str) -> None:
        """A copy of an object under another key (type and cache headers copied with it)."""
        client("s3").copy_object(Bucket=self.bucket, Key=key, CopySource={"Bucket": self.bucket, "Key": source})

    def put(self, key: str, data: bytes, content_type: str, cache_control: str) -> None:
        client("s3").put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type,
                                CacheControl=cache_control)

"""SES v2 sending of the MIME message we render ourselves (Raw content).

Errors are sorted by what a retry can change: throttling and configuration problems are
transient (the message is retried, then waits in the DLQ to be redriven); a rejection of
this message or recipient is permanent.
"""
from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import MailerUnavailable, MessageRefused
from .aws import client

_PERMANENT = {"MessageRejected", "BadRequestException", "InvalidParameterValue", "AccountSuspendedException"}


class SesMailer:
    def __init__(self, configuration_set: str) -> None:
        self.configuration_set = configuration_set

    def send(self, *, sender: str, recipient: str, raw_message: bytes, tags: dict[str, str]) -> str:
        try:
            response = client("sesv2").send_email(
                FromEmailAddress=sender,
                Destination={"ToAddresses": [recipient]},
                Content={"Raw": {"Data": raw_message}},
                ConfigurationSetName=self.configuration_set,
                EmailTags=[{"Name": name, "Value": value} for name, value in tags.items()],
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _PERMANENT:
                raise MessageRefused(code) from error
            raise MailerUnavailable(code or str(error)) from error
        except BotoCoreError as error:
            raise MailerUnavailable(str(error)) from error
        return response["MessageId"]

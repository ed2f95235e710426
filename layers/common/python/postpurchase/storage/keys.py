"""Table keys. Every key starts with the merchant id, so one tenant never reads another's items."""


def merchant_pk(merchant_id: str) -> str:
    return f"M#{merchant_id}"


def customer_pk(merchant_id: str, customer_id: str) -> str:
    return f"M#{merchant_id}#C#{customer_id}"


def order_pk(merchant_id: str, order_id: str) -> str:
    return f"M#{merchant_id}#O#{order_id}"


def shipment_sk(shipment_id: str) -> str:
    return f"SHIP#{shipment_id}"


def tracking_event_sk(shipment_id: str, occurred_at_iso: str, identity: str) -> str:
    return f"SHIP#{shipment_id}#EV#{occurred_at_iso}#{identity}"


def poll_shard_pk(shard: int) -> str:
    return f"POLL#{shard}"


def tracking_number_pk(merchant_id: str, tracking_number: str) -> str:
    # Not keyed by carrier: providers spell carriers differently ("FedEx", "fedex").
    return f"M#{merchant_id}#TRK#{tracking_number.strip().upper()}"


def message_sk(message_key: str) -> str:
    return f"MSG#{message_key}"


def api_key_pk(key_hash: str) -> str:
    # The only key not under a merchant: authentication must find the merchant from the key.
    return f"APIKEY#{key_hash}"


ORDER_SK = "ORDER"
PROFILE_SK = "PROFILE"
SETTINGS_SK = "SETTINGS"
API_KEY_SK = "APIKEY"


POLICY_SK_PREFIX = "POLICY#v"


def policy_sk(version: int) -> str:
    # Zero-padded so versions sort by number: the newest is the last of the partition's range.
    return f"{POLICY_SK_PREFIX}{version:06d}"


def return_sk(rma_id: str) -> str:
    return f"{RETURN_SK_PREFIX}{rma_id}"


RETURN_SK_PREFIX = "RMA#"


def order_number_pk(merchant_id: str, number: str) -> str:
    return f"M#{merchant_id}#NUM#{number}"


def attempts_pk(merchant_id: str, scope: str) -> str:
    return f"M#{merchant_id}#RL#{scope}"


def return_order_pk(merchant_id: str, rma_id: str) -> str:
    return f"M#{merchant_id}#RMA#{rma_id}"


RETURN_ORDER_SK = "ORDER"


def suppression_pk(merchant_id: str, email_digest: str) -> str:
    return f"M#{merchant_id}#SUP#{email_digest}"


SUPPRESSION_SK = "SUPPRESSED"


SCHEDULED_SK_PREFIX = "SCHED#"
FEEDBACK_SK_PREFIX = "FEEDBACK#"  # written by the feedback capability under the order


def scheduled_sk(kind: str, ref: str) -> str:
    return f"{SCHEDULED_SK_PREFIX}{kind}#{ref}"


def due_bucket_pk(hour: str, shard: int) -> str:
    """gsi3 partition: the hour a message falls due ("yyyy-mm-ddThh", UTC) and its shard."""
    return f"DUE#{hour}#{shard}"


SCHEDULER_CURSOR_PK = "SYS#SCHEDULER"
SCHEDULER_CURSOR_SK = "CURSOR"

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


# --- catalog and recommendations (storage/recommendations.py) ---------------------------------

def catalog_pk(merchant_id: str) -> str:
    """The merchant's products (sk P#{product_id}) and recommendation rules (sk RULES): the
    recommender loads the whole partition with one paginated Query and caches it briefly."""
    return f"M#{merchant_id}#CATALOG"


PRODUCT_SK_PREFIX = "P#"
RULES_SK = "RULES"


def product_sk(product_id: str) -> str:
    return f"{PRODUCT_SK_PREFIX}{product_id}"


def sku_pk(merchant_id: str, sku: str) -> str:
    """SKU -> product: order lines carry SKUs; a BatchGet resolves an order's lines."""
    return f"M#{merchant_id}#SKU#{sku}"


SKU_SK = "PRODUCT"


def copurchase_pk(merchant_id: str, product_id: str) -> str:
    """One item per product: an attribute per product bought with it (n:{other} = orders)."""
    return f"M#{merchant_id}#COBUY#{product_id}"


COPURCHASE_SK = "COBUY"
# Under the customer's partition: products bought and returned (string sets).
PURCHASES_SK = "PURCHASES"
# Under the order's partition: its products were counted (written in the same transaction).
LEARNED_SK = "RECS#LEARNED"

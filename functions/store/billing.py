"""Products, subscriptions, discounts, tax rates and invoices, and the cycle-close transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any, NamedTuple, TypeVar

from functions.common.clock import iso, utcnow
from functions.common.errors import AlreadyExists, Conflict, Exhausted, InvalidTransition
from functions.store import dynamo, outbox
from functions.store.aggregates import close_aggregate_action
from functions.store.billing_entities import (
    Discount,
    Invoice,
    InvoiceLine,
    InvoiceTax,
    Price,
    Product,
    Subscription,
    TaxRate,
)
from functions.store.codec import entity_from_item, entity_from_values, from_item, to_attr, to_item
from functions.store.customers import customer_from_item
from functions.store.entities import BillingState, Customer
from functions.store.keys import (
    AGGREGATE_SHARDS,
    DISCOUNT_PREFIX,
    DUE_SUBSCRIPTIONS,
    INVOICE_COUNTER_SK,
    INVOICE_PREFIX,
    PRODUCT_PREFIX,
    SUBSCRIPTION_PREFIX,
    TAX_RATE_PREFIX,
    UNRENDERED_INVOICES,
    billing_attribute,
    customer_sk,
    discount_code_sk,
    discount_sk,
    due_position,
    invoice_sk,
    key,
    org_pk,
    product_sk,
    subscription_sk,
    tax_rate_sk,
)
from functions.store.outbox import Announcement


def _get_item(org_id: str, sk: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = dynamo.call("get_item", TableName=dynamo.table_name(),
                                              Key=key(org_pk(org_id), sk), ConsistentRead=True).get("Item")
    return item


def _get(org_id: str, sk: str) -> dict[str, Any] | None:
    item = _get_item(org_id, sk)
    return from_item(item) if item else None  # a pointer or a counter: the keys are not read


Entity = TypeVar("Entity")


def _read(org_id: str, sk: str, reader: Callable[[dict[str, Any]], Entity]) -> Entity | None:
    item = _get_item(org_id, sk)
    return reader(item) if item else None


def _read_all(org_id: str, prefix: str, reader: Callable[[dict[str, Any]], Entity]) -> list[Entity]:
    return [reader(item) for item in _list_items(org_id, prefix)]


def _list_items(org_id: str, prefix: str) -> list[dict[str, Any]]:
    return list(dynamo.query_all(
        TableName=dynamo.table_name(),
        KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues={":pk": {"S": org_pk(org_id)}, ":prefix": {"S": prefix}},
        ConsistentRead=True,
    ))


def _put(org_id: str, sk: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"Put": {"TableName": dynamo.table_name(), "Item": {**key(org_pk(org_id), sk), **to_item(values)}}}


def _put_entity(org_id: str, sk: str, entity: Any) -> dict[str, Any]:
    return _put(org_id, sk, asdict(entity))


# Products, discounts, tax rates: documents in the organization's partition.

def put_product(org_id: str, product: Product) -> None:
    dynamo.call("put_item", **_put_entity(org_id, product_sk(product.id), product)["Put"])


def product_from_item(item: dict[str, Any]) -> Product:
    values = from_item(item)
    values["prices"] = [entity_from_values(Price, price) for price in values.get("prices") or []]
    return entity_from_values(Product, values)


def get_product(org_id: str, product_id: str) -> Product | None:
    return _read(org_id, product_sk(product_id), product_from_item)


def list_products(org_id: str) -> list[Product]:
    return _read_all(org_id, PRODUCT_PREFIX, product_from_item)


def create_discount(org_id: str, discount: Discount) -> None:
    actions = [_put_entity(org_id, discount_sk(discount.id), discount)]
    if discount.code:
        pointer = _put(org_id, discount_code_sk(discount.code), {"discount_id": discount.id})
        pointer["Put"]["ConditionExpression"] = "attribute_not_exists(PK)"
        actions.append(pointer)
    if dynamo.transact(actions) is not None:
        raise AlreadyExists("discount", ["code"])


def put_discount(org_id: str, discount: Discount) -> None:
    """A discount that exists (its code pointer unchanged)."""
    dynamo.call("put_item", **_put_entity(org_id, discount_sk(discount.id), discount)["Put"])


def update_discount_terms(org_id: str, discount_id: str, changes: dict[str, Any], modified_at: str) -> Discount:
    """Set a discount's name and/or redemption limit in place: a redemption raising the count meanwhile is kept,
    and a limit below the count (even one reached a moment ago) is refused (Exhausted)."""
    names = {f"#f{i}": name for i, name in enumerate([*changes, "modified_at"])}
    values = {f":v{i}": to_attr(value) for i, value in enumerate([*changes.values(), modified_at])}
    condition = "attribute_exists(PK)"
    if changes.get("max_redemptions") is not None:
        condition += " AND redemptions_count <= :limit"
        values[":limit"] = to_attr(changes["max_redemptions"])
    try:
        item = dynamo.call("update_item", TableName=dynamo.table_name(),
                           Key=key(org_pk(org_id), discount_sk(discount_id)),
                           UpdateExpression="SET " + ", ".join(f"{n} = :v{i}" for i, n in enumerate(names)),
                           ConditionExpression=condition, ExpressionAttributeNames=names,
                           ExpressionAttributeValues=values, ReturnValues="ALL_NEW")["Attributes"]
    except Conflict as exc:
        raise Exhausted("the discount has more redemptions than that limit, or is gone") from exc
    return entity_from_item(Discount, item)


def get_discount(org_id: str, discount_id: str) -> Discount | None:
    return _read(org_id, discount_sk(discount_id), partial(entity_from_item, Discount))


def discount_by_code(org_id: str, code: str) -> Discount | None:
    pointer = _get(org_id, discount_code_sk(code))
    return get_discount(org_id, pointer["discount_id"]) if pointer else None


def list_discounts(org_id: str) -> list[Discount]:
    return _read_all(org_id, DISCOUNT_PREFIX, partial(entity_from_item, Discount))


def put_tax_rate(org_id: str, rate: TaxRate) -> None:
    dynamo.call("put_item", **_put_entity(org_id, tax_rate_sk(rate.id), rate)["Put"])


def list_tax_rates(org_id: str) -> list[TaxRate]:
    return _read_all(org_id, TAX_RATE_PREFIX, partial(entity_from_item, TaxRate))


# Subscriptions and invoices.

def get_subscription(org_id: str, subscription_id: str) -> Subscription | None:
    return _read(org_id, subscription_sk(subscription_id), partial(entity_from_item, Subscription))


def list_subscriptions(org_id: str) -> list[Subscription]:
    return _read_all(org_id, SUBSCRIPTION_PREFIX, partial(entity_from_item, Subscription))


def invoice_from_item(item: dict[str, Any]) -> Invoice:
    """An invoice item, of any age: one written before rates stacked kept a single `tax_rate` beside its
    `tax_amount`, one written before credit balances has no `amount_due` (all of its total was due)."""
    values = from_item(item)
    values["lines"] = [entity_from_values(InvoiceLine, line) for line in values.get("lines") or []]
    if "taxes" not in values and values.get("tax_rate"):
        values["taxes"] = [{**values["tax_rate"], "amount": values.get("tax_amount", 0)}]
    values["taxes"] = [entity_from_values(InvoiceTax, {"inclusive": False, **tax}) for tax in values.get("taxes") or []]
    values.setdefault("amount_due", values.get("total", 0))
    return entity_from_values(Invoice, values)


def get_invoice(org_id: str, invoice_id: str) -> Invoice | None:
    return _read(org_id, invoice_sk(invoice_id), invoice_from_item)


def list_invoices(org_id: str) -> list[Invoice]:
    return _read_all(org_id, INVOICE_PREFIX, invoice_from_item)


def invoice_counter(org_id: str) -> int:
    found = _get(org_id, INVOICE_COUNTER_SK)
    return int(found["value"]) if found else 0


class Due(NamedTuple):
    organization_id: str
    subscription_id: str
    position: str  # its place in the due index
    customer_id: str  # so that the close reads the subscription and its customer in one request


def due_subscriptions(before: str, after: str | None = None) -> Iterator[Due]:
    """Active subscriptions whose period ended before `before`, in the order of their period end; `after` is a
    position already handled (a run handing over continues there)."""
    condition, values = "GSI1PK = :due AND GSI1SK < :before", {":due": {"S": DUE_SUBSCRIPTIONS},
                                                                ":before": {"S": before}}
    if after:
        condition = "GSI1PK = :due AND GSI1SK BETWEEN :after AND :before"
        values[":after"] = {"S": after}
    for item in dynamo.query_all(TableName=dynamo.table_name(), IndexName="GSI1", KeyConditionExpression=condition,
                                 ExpressionAttributeValues=values):
        position = item["GSI1SK"]["S"]
        if position not in (after, before):  # BETWEEN includes both ends
            yield Due(item["organization_id"]["S"], item["id"]["S"], position, item["customer_id"]["S"])


def subscription_with_customer(org_id: str, subscription_id: str, customer_id: str
                               ) -> tuple[Subscription | None, Customer | None]:
    """The subscription and its customer in one (consistent) BatchGetItem: what every close reads first."""
    found = {item["SK"]["S"]: item for item in dynamo.batch_get([
        key(org_pk(org_id), subscription_sk(subscription_id)), key(org_pk(org_id), customer_sk(customer_id))])}
    sub_item, customer_item = found.get(subscription_sk(subscription_id)), found.get(customer_sk(customer_id))
    customer = customer_from_item(customer_item) if customer_item else None
    return (entity_from_item(Subscription, sub_item) if sub_item else None,
            None if customer is None or customer.deleted_at else customer)


def unrendered_invoices(written_before: str) -> Iterator[tuple[str, str]]:
    """(organization, invoice) of the invoices not yet published that were written before `written_before` (an
    ISO time; an item without `written_at`, from before it was recorded, counts as old)."""
    for item in dynamo.query_all(
        TableName=dynamo.table_name(),
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :u",
        FilterExpression="attribute_not_exists(written_at) OR written_at < :before",
        ExpressionAttributeValues={":u": {"S": UNRENDERED_INVOICES}, ":before": {"S": written_before}},
    ):
        yield item["organization_id"]["S"], item["id"]["S"]


def mark_rendered(org_id: str, invoice_id: str, artifacts: dict[str, str]) -> None:
    dynamo.call(
        "update_item",
        TableName=dynamo.table_name(),
        Key=key(org_pk(org_id), invoice_sk(invoice_id)),
        UpdateExpression="SET artifacts = :a REMOVE GSI1PK, GSI1SK",
        ExpressionAttributeValues={":a": to_attr(artifacts)},
    )


def set_invoice_status(org_id: str, invoice_id: str, status: str, allowed_from: tuple[str, ...], at: str,
                       announcements: list[Announcement]) -> None:
    """The status and what it announces, in one transaction."""
    reasons = dynamo.transact([
        {"Update": {"TableName": dynamo.table_name(), "Key": key(org_pk(org_id), invoice_sk(invoice_id)),
                    "UpdateExpression": "SET #s = :s, modified_at = :at",
                    "ConditionExpression": "#s IN (" + ", ".join(f":f{i}" for i in range(len(allowed_from))) + ")",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S": status}, ":at": {"S": at},
                                                  **{f":f{i}": {"S": s} for i, s in enumerate(allowed_from)}}}},
        *(outbox.put_action(a) for a in announcements),
    ])
    if reasons is not None and reasons[0].get("Code") == "ConditionalCheckFailed":
        raise InvalidTransition(f"an invoice can't become {status} from its current status")
    if reasons is not None:
        raise Conflict("the invoice's status could not be written; retry")


@dataclass
class ClosingAggregate:
    customer_id: str
    meter_id: str
    period_key: str
    period_end: str
    version: int | None  # shard 0's; None: no usage yet, write a closed marker
    # The other shards' (functions/store/keys.py AGGREGATE_SHARDS): each is closed, or created closed.
    other_shard_versions: tuple[int | None, ...] = (None,) * (AGGREGATE_SHARDS - 1)


@dataclass
class BalanceChange:
    """The customer's credit balances once the invoice is written (every currency: the attribute is written
    whole), on the condition that `version_read` is still the item's `balance_version`: another invoice that
    moved the balance in between cancels this write, and the writer reads again and retries."""

    balances: dict[str, int]
    version_read: int
    before: dict[str, int] = field(default_factory=dict)  # the balances read (what the change announces from)


@dataclass
class InvoiceWrite:
    """Everything one invoice changes, written in one transaction (the close, a creation, a change)."""

    org_id: str
    invoice: Invoice | None
    previous_number: int
    subscription: Subscription
    # The subscription as read (None: a creation). The write is conditional on it still having that period
    # start (a creation: on its not existing yet); what the change announces is read from before and after.
    before: Subscription | None
    customer_billing: BillingState | None
    close: list[ClosingAggregate] = field(default_factory=list)
    discount_redemption: str | None = None  # discount id whose redemption count goes up
    balance: BalanceChange | None = None  # the invoice takes credit from, or gives credit to, the customer
    # Set by a creation or a product change: the customer's billing_version when its other subscriptions' meters
    # were checked (a meter is priced by one active subscription of a customer).
    billing_version_read: int | None = None
    # The bus events the write owes (billing/announcements.py), written in its transaction as outbox items.
    announcements: list[Announcement] = field(default_factory=list)

    @property
    def subscription_guard(self) -> str | None:
        """The period start the subscription must still have (None: it must not exist yet)."""
        return self.before.current_period_start if self.before is not None else None


@dataclass
class WriteOutcome:
    committed: bool
    already_done: bool = False  # the invoice or the subscription change was written by someone else
    counter_moved: bool = False
    usage_moved: bool = False
    balance_moved: bool = False
    billing_moved: bool = False


def _customer_update(org_id: str, customer_id: str, balance: BalanceChange | None,
                     subscription_id: str | None = None, billing: BillingState | None = None,
                     billing_version_read: int | None = None) -> dict[str, Any]:
    """The customer item's part of a transaction: the billing state of `subscription_id` (set, or removed when
    None: the subscription ended), and its credit balance when it moves (one action per item in a transaction,
    so both in one update). Each subscription's state is an attribute of its own: another subscription's
    transaction never writes it. Every billing change moves `billing_version`; `billing_version_read` makes the
    write conditional on it (a creation or product change checked the customer's other subscriptions)."""
    sets, removes, values, names = [], [], {}, {}
    condition = "attribute_exists(PK)"
    if subscription_id is not None:
        names.update({"#bs": billing_attribute(subscription_id), "#gv": "billing_version"})
        if billing is not None:
            sets.append("#bs = :b")
            values[":b"] = to_attr(asdict(billing))
        else:
            removes.append("#bs")
        sets.append("#gv = if_not_exists(#gv, :zero) + :one")
        values.update({":zero": {"N": "0"}, ":one": {"N": "1"}})
        if billing_version_read is not None:  # no other subscription of the customer changed since it was read
            values[":gread"] = {"N": str(billing_version_read)}
            condition += " AND (#gv = :gread" + (" OR attribute_not_exists(#gv))" if not billing_version_read
                                                 else ")")
    if balance is not None:
        sets.append("#bal = :bal, #bv = :bv")
        names.update({"#bal": "balance", "#bv": "balance_version"})
        values.update({":bal": to_attr(balance.balances), ":bv": {"N": str(balance.version_read + 1)},
                       ":read": {"N": str(balance.version_read)}})
        # Items written before balances existed have no version: they read as version 0.
        condition += " AND (#bv = :read" + (" OR attribute_not_exists(#bv))" if not balance.version_read else ")")
    update: dict[str, Any] = {
        "TableName": dynamo.table_name(), "Key": key(org_pk(org_id), customer_sk(customer_id)),
        "ConditionExpression": condition,
        "UpdateExpression": " ".join(part for part in (("SET " + ", ".join(sets)) if sets else "",
                                                       ("REMOVE " + ", ".join(removes)) if removes else "") if part),
    }
    if values:
        update["ExpressionAttributeValues"] = values
    if names:
        update["ExpressionAttributeNames"] = names
    return update


def void_returning_credit(org_id: str, invoice_id: str, customer_id: str, balance: BalanceChange, at: str,
                          announcements: list[Announcement]) -> bool:
    """Void an open invoice and give the customer back the credit it took, in one transaction. False: the
    balance moved since it was read (read again and retry); InvalidTransition: the invoice is no longer open."""
    reasons = dynamo.transact([
        {"Update": {"TableName": dynamo.table_name(), "Key": key(org_pk(org_id), invoice_sk(invoice_id)),
                    "UpdateExpression": "SET #s = :void, modified_at = :at", "ConditionExpression": "#s = :open",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":void": {"S": "void"}, ":open": {"S": "open"}, ":at": {"S": at}}}},
        {"Update": _customer_update(org_id, customer_id, balance)},
        *(outbox.put_action(a) for a in announcements),
    ])
    if reasons is None:
        return True
    if reasons[0].get("Code") == "ConditionalCheckFailed":
        raise InvalidTransition("an invoice can't become void from its current status")
    return False


def write_invoice(w: InvoiceWrite) -> WriteOutcome:
    table = dynamo.table_name()
    actions: list[dict[str, Any]] = []
    roles: list[str] = []
    if w.invoice is not None:
        invoice_put = _put_entity(w.org_id, invoice_sk(w.invoice.id), w.invoice)
        # written_at is the write's own time (an invoice's dates may be a `close-cycles --as-of` time): the sweep
        # queues again only what has waited longer than a publication takes.
        invoice_put["Put"]["Item"].update(GSI1PK={"S": UNRENDERED_INVOICES}, GSI1SK={"S": w.invoice.id},
                                          written_at={"S": iso(utcnow())})
        invoice_put["Put"]["ConditionExpression"] = "attribute_not_exists(PK)"
        actions.append(invoice_put)
        roles.append("invoice")
        counter: dict[str, Any] = {
            "TableName": table, "Key": key(org_pk(w.org_id), INVOICE_COUNTER_SK),
            "UpdateExpression": "SET #v = :n",
            "ExpressionAttributeNames": {"#v": "value"},
            "ExpressionAttributeValues": {":n": {"N": str(w.invoice.number)}},
        }
        if w.previous_number:
            counter["ConditionExpression"] = "#v = :prev"
            counter["ExpressionAttributeValues"][":prev"] = {"N": str(w.previous_number)}
        else:
            counter["ConditionExpression"] = "attribute_not_exists(#v)"
        actions.append({"Update": counter})
        roles.append("counter")
    sub = w.subscription
    sub_put = _put_entity(w.org_id, subscription_sk(sub.id), sub)
    if sub.active:  # on the due list, in the order of its period's end
        sub_put["Put"]["Item"].update(GSI1PK={"S": DUE_SUBSCRIPTIONS},
                                      GSI1SK={"S": due_position(sub.current_period_end, sub.id)})
    if w.subscription_guard is None:
        sub_put["Put"]["ConditionExpression"] = "attribute_not_exists(PK)"
    else:
        sub_put["Put"]["ConditionExpression"] = "current_period_start = :guard"
        sub_put["Put"]["ExpressionAttributeValues"] = {":guard": {"S": w.subscription_guard}}
    actions.append(sub_put)
    roles.append("subscription")
    actions.append({"Update": _customer_update(w.org_id, sub.customer_id, w.balance, sub.id, w.customer_billing,
                                               w.billing_version_read)})
    roles.append("customer")
    for agg in w.close:
        for shard, version in enumerate((agg.version, *agg.other_shard_versions)):
            actions.append({"Update": close_aggregate_action(
                w.org_id, (agg.customer_id, agg.meter_id, agg.period_key), agg.period_end, version, shard)})
            roles.append("aggregate")
    if w.discount_redemption:
        actions.append({"Update": {
            "TableName": table, "Key": key(org_pk(w.org_id), discount_sk(w.discount_redemption)),
            "UpdateExpression": "ADD redemptions_count :one",
            "ConditionExpression": "attribute_not_exists(max_redemptions) OR redemptions_count < max_redemptions",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }})
        roles.append("discount")
    for announcement in w.announcements:
        actions.append(outbox.put_action(announcement))
        roles.append("announcement")
    reasons = dynamo.transact(actions)
    if reasons is None:
        return WriteOutcome(committed=True)
    failed = {roles[i] for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"}
    if "invoice" in failed or "subscription" in failed:
        return WriteOutcome(committed=False, already_done=True)
    if "discount" in failed:
        raise Exhausted("the discount has no redemptions left")
    if "customer" in failed and w.billing_version_read is not None:
        # Another subscription of the customer changed (or the balance moved, or the customer is gone): the
        # writer reads the customer again and checks its meters again.
        return WriteOutcome(committed=False, billing_moved=True, balance_moved=w.balance is not None)
    if "customer" in failed and w.balance is not None:
        # The balance moved under another invoice (or the customer is gone: the writer's re-read finds out).
        return WriteOutcome(committed=False, balance_moved=True)
    if "customer" in failed:
        raise Conflict("the customer no longer exists")
    return WriteOutcome(committed=False, counter_moved="counter" in failed, usage_moved="aggregate" in failed)

"""The catalogue: products with their prices, discounts, tax rates."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from functions.common.clock import iso, utcnow
from functions.common.errors import AlreadyExists, Exhausted, NotFound, ValidationFailed, field_error
from functions.common.ids import new_id
from functions.store import billing as store
from functions.store import meters as meter_store
from functions.store.billing_entities import Discount, Price, Product, TaxRate
from functions.store.entities import Meter

if TYPE_CHECKING:  # the request models, validated by the management routes: the portal and the cycle close,
    # which import the billing services, need none of them, and building them costs their cold start 15-20 ms
    from functions.billing.schemas import DiscountCreate, DiscountUpdate, ProductCreate, ProductUpdate, TaxRateCreate


def create_product(org_id: str, body: ProductCreate) -> Product:
    meters = {m.id: m for m in meter_store.list_all(org_id)}
    errors = [
        field_error(["body", "prices", i, "meter_id"], "meter not found")
        for i, p in enumerate(body.prices)
        if getattr(p, "meter_id", None) and p.meter_id not in meters  # type: ignore[union-attr]
    ]
    if errors:
        raise ValidationFailed(errors)
    now = iso(utcnow())
    prices = []
    for price in body.prices:
        data = price.model_dump(mode="json")
        if data.get("meter_id"):
            data["meter_name"] = meters[data["meter_id"]].name
        prices.append(Price(id=new_id(), created_at=now, **data))
    product = Product(id=new_id(), organization_id=org_id, name=body.name, description=body.description,
                      recurring_interval=body.recurring_interval,
                      recurring_interval_count=body.recurring_interval_count, prices=prices,
                      metadata=body.metadata, created_at=now)
    store.put_product(org_id, product)
    return product


def get_product(org_id: str, product_id: str) -> Product:
    product = store.get_product(org_id, product_id)
    if product is None:
        raise NotFound("product not found")
    return product


def list_products(org_id: str, is_archived: bool | None = None) -> list[Product]:
    """Oldest first; `is_archived` filters as Polar's list does (None: both)."""
    rows = [p for p in store.list_products(org_id) if is_archived is None or p.is_archived == is_archived]
    return sorted(rows, key=lambda p: p.created_at)


def update_product(org_id: str, product_id: str, body: ProductUpdate) -> Product:
    product = get_product(org_id, product_id)
    changes = body.model_dump(exclude_unset=True)
    for field in ("name", "metadata", "is_archived"):  # these can't be cleared: null means "no change", as Polar
        if changes.get(field) is None:
            changes.pop(field, None)
    product = replace(product, **changes, modified_at=iso(utcnow()))
    store.put_product(org_id, product)
    return product


def meters_by_id(org_id: str) -> dict[str, Meter]:
    """The organization's meters, for the shapes of metered prices (Polar's price names its meter)."""
    return {m.id: m for m in meter_store.list_all(org_id)}


def create_discount(org_id: str, body: DiscountCreate) -> Discount:
    discount = Discount(id=new_id(), organization_id=org_id, created_at=iso(utcnow()), **body.model_dump())
    try:
        store.create_discount(org_id, discount)
    except AlreadyExists as exc:
        raise ValidationFailed([field_error(["body", f], f"a discount with this {f} already exists")
                                for f in exc.fields]) from exc
    return discount


def get_discount(org_id: str, discount_id: str) -> Discount:
    discount = store.get_discount(org_id, discount_id)
    if discount is None:
        raise NotFound("discount not found")
    return discount


def update_discount(org_id: str, discount_id: str, body: DiscountUpdate) -> Discount:
    """A new name or redemption limit; a limit below the redemptions already made is a 422 on it."""
    discount = get_discount(org_id, discount_id)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("max_redemptions") is not None and changes["max_redemptions"] < discount.redemptions_count:
        raise ValidationFailed([field_error(["body", "max_redemptions"], f"{discount.redemptions_count} "
                                            "redemptions are already made")])
    if "name" in changes and changes["name"] is None:
        del changes["name"]  # a discount keeps a name
    if not changes:
        return discount
    try:
        return store.update_discount_terms(org_id, discount_id, changes, iso(utcnow()))
    except Exhausted:
        raise ValidationFailed([field_error(["body", "max_redemptions"], "more redemptions are already made")]
                               ) from None


def archive_discount(org_id: str, discount_id: str) -> None:
    """Polar's DELETE: no new subscription may redeem it; those that did keep it."""
    discount = get_discount(org_id, discount_id)
    if not discount.archived_at:
        now = iso(utcnow())
        store.put_discount(org_id, replace(discount, archived_at=now, modified_at=now))


def list_discounts(org_id: str) -> list[Discount]:
    """Oldest first."""
    return sorted(store.list_discounts(org_id), key=lambda d: d.created_at)


def create_tax_rate(org_id: str, body: TaxRateCreate) -> TaxRate:
    rate = TaxRate(id=new_id(), organization_id=org_id, created_at=iso(utcnow()), **body.model_dump())
    store.put_tax_rate(org_id, rate)
    return rate


def list_tax_rates(org_id: str) -> list[TaxRate]:
    return store.list_tax_rates(org_id)


def archive_tax_rate(org_id: str, tax_rate_id: str) -> None:
    """No longer applied to invoices written from now on (find_tax_rates skips it); issued ones keep their tax."""
    rate = next((r for r in store.list_tax_rates(org_id) if r.id == tax_rate_id), None)
    if rate is None:
        raise NotFound("tax rate not found")
    if not rate.archived_at:
        store.put_tax_rate(org_id, replace(rate, archived_at=iso(utcnow())))

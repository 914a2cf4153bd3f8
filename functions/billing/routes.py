"""Billing routes: products, discounts, tax rates, subscriptions, invoices (management Lambda)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from functions.auth.service import require
from functions.billing import catalogue, closing, exports, invoices, orders, subscriptions
from functions.billing.render import invoice_out
from functions.billing.schemas import (
    DiscountCreate,
    DiscountUpdate,
    InvoiceStatusUpdate,
    ProductCreate,
    ProductUpdate,
    SubscriptionCreate,
    SubscriptionUpdate,
    TaxRateCreate,
    catalogue_out,
    discount_out,
    product_out,
    subscription_out,
    upcoming_out,
)
from functions.common.clock import as_utc
from functions.common.errors import Refused
from functions.common.http import json_response, public_base_url
from functions.common.listing import id_set, parse_sorting, sort_rows
from functions.common.openapi import describe
from functions.common.pagination import page_of

CSV = {"text/csv": {"schema": {"type": "string"}}}
PDF = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}


def _field(row: dict[str, Any], key: str) -> Any:
    return row.get(key)


def register(app: APIGatewayHttpResolver) -> None:
    @app.post("/v1/products", **describe("billing.Product", status=201, scope="products:write", body=True,
                                             write=True))
    def create_product(body: Annotated[ProductCreate, Body()]):
        org_id = require(app, "products:write").organization_id
        return json_response(201, product_out(catalogue.create_product(org_id, body), catalogue.meters_by_id(org_id)))

    @app.get("/v1/products", **describe("billing.Product", page=True, scope="products:read"))
    def list_products(page: Annotated[int, Query(ge=1)] = 1, limit: Annotated[int, Query(ge=1, le=100)] = 10,
                      is_archived: Annotated[bool | None, Query()] = None,
                      sorting: Annotated[list[str] | None, Query(description="created_at, name; `-` descends. "
                                                                "Default: oldest first")] = None) -> dict:
        org_id = require(app, "products:read").organization_id
        keys = parse_sorting(sorting, ("created_at", "name"), "created_at")
        meters = catalogue.meters_by_id(org_id)
        rows = [product_out(p, meters) for p in catalogue.list_products(org_id, is_archived)]
        return page_of(sort_rows(rows, keys, _field), page, limit)

    @app.patch("/v1/products/<product_id>", **describe("billing.Product", scope="products:write", body=True,
                                                        write=True))
    def update_product(product_id: str, body: Annotated[ProductUpdate, Body()]) -> dict:
        org_id = require(app, "products:write").organization_id
        return product_out(catalogue.update_product(org_id, product_id, body), catalogue.meters_by_id(org_id))

    @app.delete("/v1/products/<product_id>", **describe(status=204, content={}, scope="products:write",
                                                        write=True, description="Never: 409 ProductNotDeletable"))
    def delete_product(product_id: str):
        catalogue.get_product(require(app, "products:write").organization_id, product_id)
        raise Refused(409, "ProductNotDeletable", "Meterbill keeps a product with the invoices that name it: "
                      "archive it instead (PATCH is_archived=true); its subscriptions go on")

    @app.patch("/v1/discounts/<discount_id>", **describe("billing.Discount", scope="discounts:write", body=True,
                                                         write=True))
    def update_discount(discount_id: str, body: Annotated[DiscountUpdate, Body()]) -> dict:
        org_id = require(app, "discounts:write").organization_id
        return discount_out(catalogue.update_discount(org_id, discount_id, body))

    @app.get("/v1/products/<product_id>", **describe("billing.Product", scope="products:read"))
    def get_product(product_id: str) -> dict:
        org_id = require(app, "products:read").organization_id
        return product_out(catalogue.get_product(org_id, product_id), catalogue.meters_by_id(org_id))

    @app.post("/v1/discounts", **describe("billing.Discount", status=201, scope="discounts:write", body=True,
                                              write=True))
    def create_discount(body: Annotated[DiscountCreate, Body()]):
        org_id = require(app, "discounts:write").organization_id
        return json_response(201, discount_out(catalogue.create_discount(org_id, body)))

    @app.get("/v1/discounts", **describe("billing.Discount", page=True, scope="discounts:read"))
    def list_discounts(page: Annotated[int, Query(ge=1)] = 1, limit: Annotated[int, Query(ge=1, le=100)] = 10,
                       sorting: Annotated[list[str] | None, Query(description="created_at, name, code, "
                                                                 "redemptions; `-` descends. Default: oldest "
                                                                 "first")] = None) -> dict:
        org_id = require(app, "discounts:read").organization_id
        keys = parse_sorting(sorting, ("created_at", "name", "code", "redemptions"), "created_at")
        rows = [discount_out(d) for d in catalogue.list_discounts(org_id)]
        return page_of(sort_rows(rows, keys, lambda row, key: row.get("redemptions_count" if key == "redemptions"
                                                                       else key)), page, limit)

    @app.get("/v1/discounts/<discount_id>", **describe("billing.Discount", scope="discounts:read"))
    def get_discount(discount_id: str) -> dict:
        return discount_out(catalogue.get_discount(require(app, "discounts:read").organization_id, discount_id))

    @app.delete("/v1/discounts/<discount_id>", **describe(status=204, content={}, scope="discounts:write",
                                                           write=True))
    def delete_discount(discount_id: str):
        catalogue.archive_discount(require(app, "discounts:write").organization_id, discount_id)
        return Response(204, "application/json", "")

    @app.post("/v1/tax-rates", **describe("billing.TaxRate", status=201, scope="products:write", body=True,
                                              write=True))
    def create_tax_rate(body: Annotated[TaxRateCreate, Body()]):
        org_id = require(app, "products:write").organization_id
        return json_response(201, catalogue_out(catalogue.create_tax_rate(org_id, body)))

    @app.delete("/v1/tax-rates/<tax_rate_id>", **describe(status=204, content={}, scope="products:write",
                                                           write=True))
    def delete_tax_rate(tax_rate_id: str):
        catalogue.archive_tax_rate(require(app, "products:write").organization_id, tax_rate_id)
        return Response(204, "application/json", "")

    @app.get("/v1/tax-rates", **describe("billing.TaxRate", page=True, scope="products:read"))
    def list_tax_rates() -> dict:
        org_id = require(app, "products:read").organization_id
        rates = [catalogue_out(r) for r in catalogue.list_tax_rates(org_id)]
        return page_of(rates, 1, max(1, len(rates)))

    @app.post("/v1/subscriptions", **describe("billing.Subscription", status=201, scope="subscriptions:write",
                                                  body=True, write=True))
    def create_subscription(body: Annotated[SubscriptionCreate, Body()]):
        org_id = require(app, "subscriptions:write").organization_id
        sub = subscriptions.create_subscription(org_id, body)
        return json_response(201, subscription_out(sub, subscriptions.named_by(org_id, [sub])))

    @app.get("/v1/subscriptions", **describe("billing.Subscription", page=True, scope="subscriptions:read"))
    def list_subscriptions(
        customer_id: Annotated[str | None, Query()] = None,
        active: Annotated[bool | None, Query()] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        sorting: Annotated[list[str] | None, Query(description="started_at, current_period_end, status; `-` "
                                                  "descends. Default: the stored order")] = None,
    ) -> dict:
        org_id = require(app, "subscriptions:read").organization_id
        keys = parse_sorting(sorting, ("started_at", "current_period_end", "status"), "")
        found = subscriptions.list_subscriptions(org_id, customer_id, active)
        named = subscriptions.named_by(org_id, found)
        rows = [subscription_out(s, named) for s in found]
        return page_of(sort_rows(rows, keys, _field), page, limit)

    @app.get("/v1/subscriptions/export", **describe(scope="subscriptions:read", content=CSV,
                                                    description="The subscriptions as CSV."))
    def export_subscriptions(timezone: Annotated[str, Query(description="an IANA time zone for the dates")] = "UTC"):
        """Polar's subscriptions export, oldest first (docs/api.md lists the columns)."""
        org_id = require(app, "subscriptions:read").organization_id
        return Response(200, "text/csv", exports.subscriptions_csv(org_id, timezone),
                        headers={"Content-Disposition": 'attachment; filename="subscriptions.csv"'})

    @app.get("/v1/subscriptions/<subscription_id>", **describe("billing.Subscription", scope="subscriptions:read"))
    def get_subscription(subscription_id: str) -> dict:
        org_id = require(app, "subscriptions:read").organization_id
        sub = subscriptions.get_subscription(org_id, subscription_id)
        return subscription_out(sub, subscriptions.named_by(org_id, [sub]))

    @app.patch("/v1/subscriptions/<subscription_id>", **describe("billing.Subscription", scope="subscriptions:write",
                                                                   body=True, write=True))
    def update_subscription(subscription_id: str, body: Annotated[SubscriptionUpdate, Body()]) -> dict:
        org_id = require(app, "subscriptions:write").organization_id
        sub = subscriptions.update_subscription(org_id, subscription_id, body, publish=invoices.publish)
        return subscription_out(sub, subscriptions.named_by(org_id, [sub]))

    @app.delete("/v1/subscriptions/<subscription_id>", **describe("billing.Subscription", scope="subscriptions:write",
                                                                    write=True))
    def revoke_subscription(subscription_id: str) -> dict:
        """Cancel now: a final invoice with the usage so far (Polar's revoke)."""
        org_id = require(app, "subscriptions:write").organization_id
        sub = subscriptions.revoke(org_id, subscription_id)
        return subscription_out(sub, subscriptions.named_by(org_id, [sub]))

    @app.get("/v1/subscriptions/<subscription_id>/upcoming-invoice",
             **describe("billing.UpcomingInvoice", scope="subscriptions:read"))
    def upcoming_invoice(subscription_id: str) -> dict:
        org_id = require(app, "subscriptions:read").organization_id
        return upcoming_out(closing.preview(org_id, subscription_id))

    @app.get("/v1/orders", **describe("billing.Order", page=True, scope="orders:read"))
    def list_orders(
        product_id: Annotated[list[str] | None, Query()] = None,
        product_billing_type: Annotated[Literal["recurring", "one_time"] | None, Query()] = None,
        discount_id: Annotated[list[str] | None, Query()] = None,
        customer_id: Annotated[list[str] | None, Query()] = None,
        external_customer_id: Annotated[list[str] | None, Query()] = None,
        subscription_id: Annotated[list[str] | None, Query()] = None,
        status: Annotated[list[Literal["draft", "pending", "paid", "void"]] | None, Query()] = None,
        created_after: Annotated[datetime | None, Query()] = None,
        created_before: Annotated[datetime | None, Query()] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        sorting: Annotated[list[str] | None, Query(description="created_at, status, invoice_number, amount, "
                                                  "net_amount; `-` descends. Default: -created_at")] = None,
    ) -> dict:
        """Meterbill's invoices as Polar's orders. Every invoice bills a subscription: `product_billing_type`
        one_time matches none."""
        org_id = require(app, "orders:read").organization_id
        keys = parse_sorting(sorting, ("created_at", "status", "invoice_number", "amount", "net_amount"),
                             "-created_at")
        wanted = orders.OrderFilter(
            product_ids=id_set(product_id), customer_ids=id_set(customer_id),
            external_customer_ids=id_set(external_customer_id), subscription_ids=id_set(subscription_id),
            discount_ids=id_set(discount_id), statuses=set(status) if status else None,
            created_after=as_utc(created_after), created_before=as_utc(created_before),
            one_time_only=product_billing_type == "one_time")
        return page_of(orders.list_orders(org_id, wanted, keys), page, limit)

    @app.get("/v1/orders/export", **describe(scope="orders:read", content=CSV, description="The orders as CSV."))
    def export_orders(product_id: Annotated[list[str] | None, Query()] = None,
                      timezone: Annotated[str, Query(description="an IANA time zone for the dates")] = "UTC"):
        """Polar's orders export: every invoice, oldest first (docs/api.md lists the columns)."""
        org_id = require(app, "orders:read").organization_id
        return Response(200, "text/csv", exports.orders_csv(org_id, timezone, id_set(product_id)),
                        headers={"Content-Disposition": 'attachment; filename="orders.csv"'})

    @app.get("/v1/orders/<order_id>", **describe("billing.Order", scope="orders:read"))
    def get_order(order_id: str) -> dict:
        return orders.get_order(require(app, "orders:read").organization_id, order_id)

    # Polar's manual orders: the one 501 NotServed (docs/api.md), answered like every path of the not-served table
    # (undocumented, before the token is read).
    @app.post("/v1/orders", include_in_schema=False)
    def create_order():
        raise Refused(501, "NotServed", "Meterbill does not serve Polar's manual orders API: an order is an "
                      "invoice its subscription writes")

    @app.patch("/v1/orders/<order_id>", include_in_schema=False)
    def update_order(order_id: str):
        raise Refused(501, "NotServed", "Meterbill does not serve Polar's order updates: an invoice is final "
                      "once issued (its billing details are the customer's at that time)")

    @app.post("/v1/orders/<order_id>/invoice", **describe(
        status=202, content={}, scope="orders:write", body=True, write=True,
        description="Never: the invoice was written when it was issued (409 OrderNotEligibleForInvoice)"))
    def generate_order_invoice(order_id: str):
        found = invoices.get_invoice(require(app, "orders:write").organization_id, order_id)
        raise Refused(409, "OrderNotEligibleForInvoice", f"invoice {found.number} was written when it was issued: "
                      "there is nothing to generate; GET this path for its URL")

    @app.get("/v1/orders/<order_id>/invoice", **describe("billing.OrderInvoice", scope="orders:read"))
    def get_order_invoice(order_id: str) -> dict:
        found = invoices.get_invoice(require(app, "orders:read").organization_id, order_id)
        return {"url": f"{public_base_url(app.current_event)}/v1/invoices/{found.id}/pdf"}

    @app.get("/v1/invoices", **describe("billing.Invoice", page=True, scope="orders:read"))
    def list_invoices(
        customer_id: Annotated[str | None, Query()] = None,
        subscription_id: Annotated[str | None, Query()] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> dict:
        org_id = require(app, "orders:read").organization_id
        return page_of([invoice_out(i) for i in invoices.list_invoices(org_id, customer_id, subscription_id)], page,
                       limit)

    @app.get("/v1/invoices/<invoice_id>", **describe("billing.Invoice", scope="orders:read"))
    def get_invoice(invoice_id: str) -> dict:
        org_id = require(app, "orders:read").organization_id
        return invoice_out(invoices.get_invoice(org_id, invoice_id))

    @app.get("/v1/invoices/<invoice_id>/pdf", **describe(scope="orders:read", content=PDF,
                                                          description="The invoice as PDF."))
    def invoice_pdf_download(invoice_id: str):
        org_id = require(app, "orders:read").organization_id
        invoice, pdf = invoices.pdf(org_id, invoice_id)
        # Bytes: Powertools answers with isBase64Encoded, which API Gateway turns back into the PDF.
        return Response(200, "application/pdf", pdf,
                        headers={"Content-Disposition": f'inline; filename="invoice-{invoice.number}.pdf"'})

    @app.patch("/v1/invoices/<invoice_id>", **describe("billing.Invoice", scope="orders:write", body=True,
                                                           write=True))
    def update_invoice(invoice_id: str, body: Annotated[InvoiceStatusUpdate, Body()]) -> dict:
        org_id = require(app, "orders:write").organization_id
        return invoice_out(invoices.set_status(org_id, invoice_id, body.status))


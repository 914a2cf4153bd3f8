"""Billing routes: products, discounts, tax rates, subscriptions, invoices (management Lambda)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from functions.adapters import s3
from functions.billing import service
from functions.billing.close import artifact_keys, publish_invoice
from functions.billing.render import invoice_pdf
from functions.billing.schemas import (
    DiscountCreate,
    InvoiceStatusUpdate,
    ProductCreate,
    SubscriptionCreate,
    SubscriptionUpdate,
    TaxRateCreate,
)
from functions.common.clock import iso, utcnow
from functions.common.errors import NotFound
from functions.common.http import json_response
from functions.common.ids import new_id
from functions.common.openapi import describe
from functions.common.pagination import page_of
from functions.common.settings import settings
from functions.organizations.routes import require
from functions.store import billing as store


def subscription_out(sub: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sub.items() if k not in ("pending_lines",)} | {
        "pending_lines": sub.get("pending_lines") or []}


def _publish_new_invoices(org_id: str, subscription_id: str) -> None:
    """Invoices written by an API change are published right away (the cycle close repairs a failure)."""
    for org, invoice_id in store.unrendered_invoices():
        if org == org_id:
            invoice = store.get_invoice(org, invoice_id)
            if invoice and invoice["subscription_id"] == subscription_id:
                publish_invoice(settings(), invoice)


PDF = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}


def register(app: APIGatewayHttpResolver) -> None:
    @app.post("/v1/products", **describe("billing.Product", status=201, scope="products:write", body=True,
                                             write=True))
    def create_product(body: Annotated[ProductCreate, Body()]):
        org_id = require(app, "products:write").organization_id
        return json_response(201, service.create_product(org_id, body))

    @app.get("/v1/products", **describe("billing.Product", page=True, scope="products:read"))
    def list_products(page: Annotated[int, Query(ge=1)] = 1, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict:
        org_id = require(app, "products:read").organization_id
        rows = sorted(store.list_products(org_id), key=lambda p: p["created_at"])
        return page_of(rows, page, limit)

    @app.get("/v1/products/<product_id>", **describe("billing.Product", scope="products:read"))
    def get_product(product_id: str) -> dict:
        return service.get_product(require(app, "products:read").organization_id, product_id)

    @app.post("/v1/discounts", **describe("billing.Discount", status=201, scope="discounts:write", body=True,
                                              write=True))
    def create_discount(body: Annotated[DiscountCreate, Body()]):
        org_id = require(app, "discounts:write").organization_id
        return json_response(201, service.create_discount(org_id, body))

    @app.get("/v1/discounts", **describe("billing.Discount", page=True, scope="discounts:read"))
    def list_discounts(page: Annotated[int, Query(ge=1)] = 1, limit: Annotated[int, Query(ge=1, le=100)] = 10
                       ) -> dict:
        org_id = require(app, "discounts:read").organization_id
        return page_of(sorted(store.list_discounts(org_id), key=lambda d: d["created_at"]), page, limit)

    @app.get("/v1/discounts/<discount_id>", **describe("billing.Discount", scope="discounts:read"))
    def get_discount(discount_id: str) -> dict:
        return service.get_discount(require(app, "discounts:read").organization_id, discount_id)

    @app.post("/v1/tax-rates", **describe("billing.TaxRate", status=201, scope="products:write", body=True,
                                              write=True))
    def create_tax_rate(body: Annotated[TaxRateCreate, Body()]):
        org_id = require(app, "products:write").organization_id
        rate = {"id": new_id(), "organization_id": org_id, **body.model_dump(), "created_at": iso(utcnow())}
        rate["country"] = rate["country"].upper()
        store.put_tax_rate(org_id, rate)
        return json_response(201, rate)

    @app.get("/v1/tax-rates", **describe("billing.TaxRate", page=True, scope="products:read"))
    def list_tax_rates() -> dict:
        org_id = require(app, "products:read").organization_id
        rates = store.list_tax_rates(org_id)
        return page_of(rates, 1, max(1, len(rates)))

    @app.post("/v1/subscriptions", **describe("billing.Subscription", status=201, scope="subscriptions:write",
                                                  body=True, write=True))
    def create_subscription(body: Annotated[SubscriptionCreate, Body()]):
        org_id = require(app, "subscriptions:write").organization_id
        sub = service.create_subscription(org_id, body)
        _publish_new_invoices(org_id, sub["id"])
        return json_response(201, subscription_out(sub))

    @app.get("/v1/subscriptions", **describe("billing.Subscription", page=True, scope="subscriptions:read"))
    def list_subscriptions(
        customer_id: Annotated[str | None, Query()] = None,
        active: Annotated[bool | None, Query()] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> dict:
        org_id = require(app, "subscriptions:read").organization_id
        rows = store.list_subscriptions(org_id)
        if customer_id:
            rows = [s for s in rows if s["customer_id"] == customer_id]
        if active is not None:
            rows = [s for s in rows if (s["status"] == "active") == active]
        rows.sort(key=lambda s: s["created_at"], reverse=True)
        return page_of([subscription_out(s) for s in rows], page, limit)

    @app.get("/v1/subscriptions/<subscription_id>", **describe("billing.Subscription", scope="subscriptions:read"))
    def get_subscription(subscription_id: str) -> dict:
        org_id = require(app, "subscriptions:read").organization_id
        return subscription_out(service.get_subscription(org_id, subscription_id))

    @app.patch("/v1/subscriptions/<subscription_id>", **describe("billing.Subscription", scope="subscriptions:write",
                                                                   body=True, write=True))
    def update_subscription(subscription_id: str, body: Annotated[SubscriptionUpdate, Body()]) -> dict:
        org_id = require(app, "subscriptions:write").organization_id
        sub = service.update_subscription(org_id, subscription_id, body)
        _publish_new_invoices(org_id, subscription_id)
        return subscription_out(sub)

    @app.delete("/v1/subscriptions/<subscription_id>", **describe("billing.Subscription", scope="subscriptions:write",
                                                                    write=True))
    def revoke_subscription(subscription_id: str) -> dict:
        """Cancel now: a final invoice with the usage so far (Polar's revoke)."""
        org_id = require(app, "subscriptions:write").organization_id
        service.get_subscription(org_id, subscription_id)
        service.close_subscription(org_id, subscription_id, utcnow(), cancel_now=True)
        _publish_new_invoices(org_id, subscription_id)
        return subscription_out(service.get_subscription(org_id, subscription_id))

    @app.get("/v1/subscriptions/<subscription_id>/upcoming-invoice",
             **describe("billing.UpcomingInvoice", scope="subscriptions:read"))
    def upcoming_invoice(subscription_id: str) -> dict:
        org_id = require(app, "subscriptions:read").organization_id
        return service.preview(org_id, subscription_id)

    @app.get("/v1/invoices", **describe("billing.Invoice", page=True, scope="orders:read"))
    def list_invoices(
        customer_id: Annotated[str | None, Query()] = None,
        subscription_id: Annotated[str | None, Query()] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> dict:
        org_id = require(app, "orders:read").organization_id
        rows = store.list_invoices(org_id)
        if customer_id:
            rows = [i for i in rows if i["customer_id"] == customer_id]
        if subscription_id:
            rows = [i for i in rows if i["subscription_id"] == subscription_id]
        rows.sort(key=lambda i: i["number"], reverse=True)
        return page_of(rows, page, limit)

    @app.get("/v1/invoices/<invoice_id>", **describe("billing.Invoice", scope="orders:read"))
    def get_invoice(invoice_id: str) -> dict:
        org_id = require(app, "orders:read").organization_id
        invoice = store.get_invoice(org_id, invoice_id)
        if invoice is None:
            raise NotFound("invoice not found")
        return invoice

    @app.get("/v1/invoices/<invoice_id>/pdf", **describe(scope="orders:read", content=PDF,
                                                          description="The invoice as PDF."))
    def invoice_pdf_download(invoice_id: str):
        org_id = require(app, "orders:read").organization_id
        invoice = store.get_invoice(org_id, invoice_id)
        if invoice is None:
            raise NotFound("invoice not found")
        pdf = _stored_pdf(invoice)
        # Bytes: Powertools answers with isBase64Encoded, which API Gateway turns back into the PDF.
        return Response(200, "application/pdf", pdf,
                        headers={"Content-Disposition": f'inline; filename="invoice-{invoice["number"]}.pdf"'})

    @app.patch("/v1/invoices/<invoice_id>", **describe("billing.Invoice", scope="orders:write", body=True,
                                                           write=True))
    def update_invoice(invoice_id: str, body: Annotated[InvoiceStatusUpdate, Body()]) -> dict:
        org_id = require(app, "orders:write").organization_id
        if store.get_invoice(org_id, invoice_id) is None:
            raise NotFound("invoice not found")
        store.set_invoice_status(org_id, invoice_id, body.status, ("open",), iso(utcnow()))
        return store.get_invoice(org_id, invoice_id)  # type: ignore[return-value]


def _stored_pdf(invoice: dict[str, Any]) -> bytes:
    """The PDF written at publication; rendered on the fly if it is not in S3 yet."""
    if invoice.get("artifacts"):
        try:
            return s3.get(settings().invoice_bucket, artifact_keys(invoice)["pdf"])
        except Exception:  # fall back to rendering: the invoice item is the source of truth
            pass
    return invoice_pdf(invoice)

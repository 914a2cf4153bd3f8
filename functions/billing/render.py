"""Invoices rendered to PDF (reportlab) and JSON. Pure: bytes in memory, the caller stores them."""

from __future__ import annotations

import io
import json
from dataclasses import asdict
from decimal import Decimal
from html import escape
from typing import Any

from functions.store.billing_entities import Invoice, InvoiceLine


def money(cents: int, currency: str) -> str:
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign}{whole:,}.{part:02d} {currency.upper()}"


def unit_money(cents: str, currency: str) -> str:
    """An exact rate in cents (a decimal string, "0.25") as an amount of the currency with every digit it has,
    at least two ("0.0025 USD")."""
    amount = Decimal(cents) / 100
    places = max(2, -amount.normalize().as_tuple().exponent)  # type: ignore[operator]
    return f"{amount:,.{places}f} {currency.upper()}"


def line_details(line: InvoiceLine, currency: str) -> list[str]:
    """The rows under a line that show how its amount is made: usage against credits, each tier, the cap."""
    out = []
    if line.kind == "metered" and Decimal(line.credited_units or 0):
        out.append(f"{line.consumed_units} used, {line.credited_units} credited, {line.quantity} billable")
    for tier in line.tiers or []:
        span = f"{tier['first_unit']:,}+" if tier["last_unit"] is None else \
            f"{tier['first_unit']:,}-{tier['last_unit']:,}"
        out.append(f"Tier {span}: {tier['units']} x {unit_money(tier['unit_amount'], currency)} = "
                   f"{unit_money(tier['amount'], currency)}")
    if line.cap_amount is not None:
        out.append(f"At most {money(line.cap_amount, currency)} per period")
    return out


def unit_price(line: InvoiceLine, currency: str) -> str:
    if line.unit_amount is None:
        return ""
    per = f" per {line.package_size:,}" if line.package_size else ""
    return unit_money(line.unit_amount, currency) + per


def tax_id_text(tax_id: str | list[str | None]) -> str:
    """Polar's `[value, type]` pair as "FR123 (eu_vat)"; the text the portal's form saved as it is."""
    if isinstance(tax_id, list):
        value, kind = (tax_id + [None, None])[:2]
        return f"{value} ({kind})" if kind else str(value or "")
    return tax_id


def balance_label(applied: int) -> str:
    """The row under the total: credit taken from the customer's balance, or a negative total moved to it."""
    return "Applied balance" if applied < 0 else "Credited to balance"


def invoice_out(invoice: Invoice) -> dict[str, Any]:
    """The invoice as the API answers it (billing/schemas.py `Invoice`, the portal's `CustomerInvoice`) and as its
    JSON file is written: every field, as stored."""
    return asdict(invoice)


def invoice_json(invoice: Invoice) -> bytes:
    return json.dumps(invoice_out(invoice), indent=2, sort_keys=True, default=str).encode()


def invoice_pdf(invoice: Invoice) -> bytes:
    # reportlab is imported here, not at module level: it costs 80-110 ms, and the management, portal and
    # cycle-close Lambdas import this module at cold start while only some invocations render a PDF.
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    buffer = io.BytesIO()
    styles = getSampleStyleSheet()
    currency = invoice.currency
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=f"Invoice {invoice.number}")
    rows: list[list[Any]] = [["Description", "Quantity", "Unit price", "Amount"]]
    for line in invoice.lines:
        rows.append([Paragraph(escape(line.description), styles["BodyText"]), line.quantity or "",
                     unit_price(line, currency), money(line.amount, currency)])
        rows += [[Paragraph(escape(detail), styles["BodyText"]), "", "", ""] for detail in line_details(line, currency)]
    rows.append(["Subtotal", "", "", money(invoice.subtotal, currency)])
    if invoice.discount_amount:
        rows.append(["Discount", "", "", money(-invoice.discount_amount, currency)])
    for tax in invoice.taxes:  # one row per rate applied to every line (stacked rates each show theirs)
        label = f"Tax {tax.name or ''} {tax.basis_points / 100:g}%"
        rows.append([f"{label} (included)" if tax.inclusive else label, "", "", money(tax.amount, currency)])
    if not invoice.taxes:
        rows.append(["Tax", "", "", money(invoice.tax_amount, currency)])
    rows.append(["Total", "", "", money(invoice.total, currency)])
    if invoice.applied_balance:
        rows.append([balance_label(invoice.applied_balance), "", "", money(invoice.applied_balance, currency)])
        rows.append(["Amount due", "", "", money(invoice.amount_due, currency)])
    table = Table(rows, colWidths=[250, 70, 90, 90])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
        ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    address = invoice.billing_address or {}
    seller = invoice.seller or {}
    seller_address = seller.get("address") or {}
    seller_text = " ".join(str(part) for part in (
        seller.get("legal_name") or seller.get("name"), seller_address.get("line1"), seller_address.get("line2"),
        seller_address.get("postal_code"), seller_address.get("city"), seller_address.get("country"),
        f"Tax ID {seller['tax_id']}" if seller.get("tax_id") else None, seller.get("email")) if part)
    due = f" &middot; Due {invoice.due_at[:10]}" if invoice.due_at else ""
    story = [
        Paragraph(f"Invoice {invoice.number}", styles["Title"]),
        *([Paragraph(f"From: {escape(seller_text)}", styles["Normal"])] if seller_text else []),
        Paragraph(f"Status: {invoice.status} &middot; Issued {invoice.created_at[:10]}{due}",
                  styles["Normal"]),
        Paragraph(escape(f"Billed to: {invoice.customer_name or ''} {invoice.customer_email or ''} "
                         f"{address.get('line1') or ''} {address.get('city') or ''} {address.get('country') or ''}"
                         + (f" Tax ID {tax_id_text(invoice.customer_tax_id)}" if invoice.customer_tax_id else "")),
                  styles["Normal"]),
        Paragraph(f"Period: {invoice.period_start[:10]} to {invoice.period_end[:10]}", styles["Normal"]),
        Spacer(1, 12),
        table,
    ]
    doc.build(story)
    return buffer.getvalue()

"""The portal's HTML, server-rendered: everything reads without JavaScript. A small script refreshes the meters
(cards and charts) from the server's own fragment, so the numbers are formatted in one place. Pure."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Any

from functions.billing.render import balance_label
from functions.common.clock import parse_iso
from functions.portal.locale import DEFAULT, Locale, money, number, percent
from functions.portal.words import Unit, line_detail, meter_sentence, price_words, unit_of
from functions.store.billing_entities import Invoice, InvoiceLine, InvoiceTax, Price
from functions.store.entities import Customer

DEFAULT_ACCENT = "#0969da"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
STATUS_WORDS = {"open": "Open, unpaid", "paid": "Paid", "void": "Void", "draft": "Draft"}

STYLE = """
:root { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; color: #1f2328; background: #f6f8fa;
  line-height: 1.45; }
body { margin: 0; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem; }
.skip:focus { left: .5rem; z-index: 2; }
header.brand { background: var(--accent); color: var(--on-accent); }
header.brand .inner { max-width: 60rem; margin: 0 auto; padding: .75rem 1rem; display: flex; gap: .75rem;
  align-items: center; flex-wrap: wrap; }
header.brand img { height: 2rem; width: auto; max-width: 10rem; background: #fff; border-radius: .25rem; }
header.brand .org { font-weight: 600; font-size: 1.05rem; }
header.brand a { color: var(--on-accent); }
header.brand .back { margin-left: auto; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem 1rem 3rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 .25rem; }
h2 { font-size: 1.15rem; margin: 0 0 .75rem; }
h3 { font-size: 1rem; margin: 0 0 .35rem; }
section { background: #fff; border: 1px solid #d0d7de; border-radius: .5rem; padding: 1rem; margin-top: 1rem; }
.meters { display: grid; gap: .75rem; grid-template-columns: repeat(auto-fit, minmax(min(100%, 20rem), 1fr)); }
.meter { border: 1px solid #d0d7de; border-radius: .5rem; padding: .75rem; min-width: 0; }
.meter .summary { margin: 0 0 .5rem; }
.numbers { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; margin: 0; font-variant-numeric: tabular-nums; }
.numbers dt { font-size: .8rem; color: #57606a; } .numbers dd { margin: 0; font-weight: 600; }
.numbers .over { color: #a40e26; }
.bar { height: .6rem; background: #eaeef2; border-radius: .3rem; overflow: hidden; margin-top: .6rem; }
.bar > span { display: block; height: 100%; background: var(--accent); }
.bar.over > span { background: #cf222e; }
.chart { margin: .75rem 0 0; }
.chart svg { display: block; width: 100%; height: 5rem; background: #f6f8fa; border-radius: .25rem; }
.chart svg rect { fill: var(--accent); }
.chart figcaption { font-size: .8rem; color: #57606a; margin-top: .25rem; }
.scroll { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .45rem .3rem; border-bottom: 1px solid #eaeef2; vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
tfoot th, tfoot td { border-bottom: 0; }
tfoot tr.total th, tfoot tr.total td { font-weight: 700; border-top: 2px solid #d0d7de; }
.detail { margin: .2rem 0 0; padding-left: 1rem; font-size: .85rem; color: #57606a; }
.muted { color: #57606a; }
.small { font-size: .85rem; }
a { color: #0550ae; }
a:focus-visible, summary:focus-visible, .scroll:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
summary { cursor: pointer; }
.status-open { color: #9a6700; font-weight: 600; }
.status-paid { color: #1a7f37; font-weight: 600; }
footer { max-width: 60rem; margin: 0 auto; padding: 0 1rem 2rem; color: #57606a; font-size: .9rem; }
@media (max-width: 40rem) {
  .hide-small { display: none; }
  main { padding: .75rem .5rem 2rem; }
  section { padding: .75rem; }
  table { font-size: .875rem; }
  th, td { padding: .4rem .2rem; }
}
"""

SCRIPT = """
(function () {
  var box = document.getElementById('meters-live');
  if (!box || !window.fetch) { return; }
  function refresh() {
    if (document.hidden) { return; }
    var open = Array.prototype.map.call(box.querySelectorAll('details[open]'), function (d) { return d.id; });
    fetch('/portal/fragments/meters', {credentials: 'same-origin', headers: {'Accept': 'text/html'}})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        box.innerHTML = html;
        open.forEach(function (id) { var d = document.getElementById(id); if (d) { d.open = true; } });
        document.body.dataset.refreshed = String(Date.now());
      })
      .catch(function () {});
  }
  setInterval(refresh, 3000);
  document.addEventListener('visibilitychange', refresh);
})();
"""


def day(value: str | datetime | None) -> str:
    if not value:
        return ""
    moment = parse_iso(value) if isinstance(value, str) else value
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def _time(value: str | None) -> str:
    return f'<time datetime="{escape(value)}">{day(value)}</time>' if value else ""


def on_accent(color: str) -> str:
    """Black or white, whichever reads better on the accent colour (WCAG relative luminance)."""
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    red, green, blue = (channel(color[i:i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"


# Meters ------------------------------------------------------------------------------------------------------

def chart(row: dict[str, Any], unit: Unit, locale: Locale) -> str:
    """Daily usage as an SVG bar chart with the same numbers in a table (for screen readers and no-CSS)."""
    days = row.get("daily") or []
    if not days:
        return ""
    values = [Decimal(str(d["quantity"])) for d in days]
    top = max(values) or Decimal(1)
    width = 10 * len(days)
    bars = []
    for index, (entry, value) in enumerate(zip(days, values, strict=True)):
        height = float(value / top * 100)
        bars.append(f'<rect x="{index * 10 + 1}" y="{100 - height:.2f}" width="8" height="{height:.2f}">'
                    f"<title>{day(entry['timestamp'])}: {number(value, locale)} {unit.of(value)}</title></rect>")
    name = escape(row["meter"]["name"])
    peak = max(range(len(values)), key=lambda i: values[i])
    total = sum(values, Decimal(0))
    as_of = row.get("as_of") or days[-1]["timestamp"]
    elapsed = sum(1 for d in days if d["timestamp"] <= as_of)
    caption = (f"Daily usage this period: {number(total, locale)} {unit.of(total)} in the first {elapsed} of "
               f"{len(days)} days" + (f", most on {day(days[peak]['timestamp'])} ({number(values[peak], locale)})."
                                      if total else "."))
    rows = "".join(f"<tr><td>{_time(d['timestamp'])}</td><td class=\"num\">{number(v, locale)}</td></tr>"
                   for d, v in zip(days, values, strict=True) if d["timestamp"] <= as_of)
    table_id = f"days-{escape(row['meter_id'])}"
    return f"""
  <figure class="chart">
    <svg viewBox="0 0 {width} 100" preserveAspectRatio="none" role="img" aria-label="{escape(caption)}"
      data-chart="daily">{''.join(bars)}</svg>
    <figcaption>{escape(caption)}</figcaption>
  </figure>
  <details id="{table_id}"><summary class="small">Daily numbers for {name}</summary>
    <table class="small"><thead><tr><th scope="col">Day</th>
    <th scope="col" class="num">{escape(unit.many.capitalize())}</th></tr></thead>
    <tbody>{rows}</tbody></table></details>"""


def meter_card(row: dict[str, Any], locale: Locale = DEFAULT) -> str:
    meter = row["meter"]
    unit = unit_of(meter)
    price = row.get("price")
    consumed = Decimal(str(row["consumed_units"]))
    credited = Decimal(str(row["credited_units"]))
    balance = credited - consumed
    bar = ""
    if credited:
        pct = min(Decimal(100), 100 * consumed / credited)
        over = " over" if balance < 0 else ""
        bar = (f'<div class="bar{over}" role="progressbar" aria-label="{escape(meter["name"])}: share of the '
               f'included units used" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{round(pct)}" '
               f'aria-valuetext="{number(pct, locale, 0)}% of the included units used">'
               f'<span style="width:{pct:.1f}%"></span></div>')
    if balance >= 0 and credited:
        remaining = (f'<div><dt>Left</dt><dd data-field="remaining">{number(balance, locale)}</dd></div>')
    elif balance < 0 and credited:
        remaining = (f'<div><dt>Over</dt><dd class="over" data-field="over">{number(-balance, locale)}</dd></div>')
    else:
        remaining = ""
    price_text = price_words(price, unit, locale)
    price_row = f'<div><dt>Price</dt><dd data-field="price">{escape(price_text)}</dd></div>' if price_text else ""
    return f"""
<article class="meter" data-meter-id="{escape(row['meter_id'])}" aria-labelledby="m-{escape(row['meter_id'])}">
  <h3 id="m-{escape(row['meter_id'])}">{escape(meter['name'])}</h3>
  <p class="summary" data-field="summary">{escape(meter_sentence(row, unit, price, locale))}</p>
  <dl class="numbers">
    <div><dt>Used ({escape(unit.many)})</dt><dd data-field="consumed">{number(consumed, locale)}</dd></div>
    <div><dt>Included</dt><dd data-field="credited">{number(credited, locale)}</dd></div>
    {remaining}{price_row}
  </dl>{bar}
  <p class="muted small">Period {_time(row['period_start'])} to {_time(row['period_end'])} (UTC).</p>
  {chart(row, unit, locale)}
</article>"""


def meters_fragment(meters: list[dict[str, Any]], locale: Locale = DEFAULT) -> str:
    if not meters:
        return '<p class="muted">No usage this period yet.</p>'
    return '<div class="meters">' + "".join(meter_card(m, locale) for m in meters) + "</div>"


# Invoices ----------------------------------------------------------------------------------------------------

def _line_row(line: InvoiceLine, prices: dict[str, Price], meters: dict[str, dict[str, Any]],
              currency: str, locale: Locale) -> str:
    price = prices.get(line.price_id or "")
    meter = meters.get(line.meter_id or "") or {}
    unit = unit_of(meter)
    quantity = Decimal(line.quantity or 0)
    if line.kind == "metered" and price:
        unit_price = escape(price_words(price, unit, locale).split(", at most")[0]) if (
            price.amount_type == "metered_unit") else "see below"
        qty = f"{number(quantity, locale)} {escape(unit.of(quantity))}"
    else:
        unit_price = money(line.amount, currency, locale) if quantity == 1 else ""
        qty = number(quantity, locale) if line.quantity else ""
    details = line_detail(line, price, unit, currency, locale)
    detail = ('<ul class="detail">' + "".join(f"<li>{escape(d)}</li>" for d in details) + "</ul>") if details else ""
    return (f"<tr><td>{escape(line.description)}{detail}</td><td class=\"num hide-small\">{qty}</td>"
            f"<td class=\"num hide-small\">{unit_price}</td>"
            f"<td class=\"num\">{money(line.amount, currency, locale)}</td></tr>")


def tax_label(tax: InvoiceTax, locale: Locale) -> str:
    name = f"{tax.name} " if tax.name else ""
    how = "included" if tax.inclusive else "added"
    return f"Tax ({name}{percent(tax.basis_points, locale)}, {how})"


GAP = '<td class="hide-small"></td><td class="hide-small"></td>'  # under Quantity and Unit price


def invoice_totals(invoice: Invoice, locale: Locale, total_field: str) -> str:
    currency = invoice.currency
    rows = [f'<tr><th scope="row">Subtotal</th>{GAP}<td class="num">'
            f'{money(invoice.subtotal, currency, locale)}</td></tr>']
    if invoice.discount_amount:
        rows.append(f'<tr><th scope="row">Discount</th>{GAP}<td class="num">'
                    f'{money(-invoice.discount_amount, currency, locale)}</td></tr>')
    for tax in invoice.taxes:  # one row per rate applied: stacked rates each show theirs
        rows.append(f'<tr><th scope="row">{escape(tax_label(tax, locale))}</th>{GAP}<td class="num" '
                    f'data-field="tax">{money(tax.amount, currency, locale)}</td></tr>')
    if not invoice.taxes:
        rows.append(f'<tr><th scope="row">Tax</th>{GAP}<td class="num" data-field="tax">'
                    f'{money(invoice.tax_amount, currency, locale)}</td></tr>')
    rows.append(f'<tr class="total"><th scope="row">Total</th>{GAP}<td class="num" data-field="{total_field}">'
                f'{money(invoice.total, currency, locale)}</td></tr>')
    if invoice.applied_balance:
        rows.append(f'<tr><th scope="row">{balance_label(invoice.applied_balance)}</th>{GAP}'
                    f'<td class="num" data-field="applied-balance">'
                    f'{money(invoice.applied_balance, currency, locale)}</td></tr>')
        rows.append(f'<tr class="total"><th scope="row">Amount due</th>{GAP}<td class="num" data-field="amount-due">'
                    f'{money(invoice.amount_due, currency, locale)}</td></tr>')
    return "<tfoot>" + "".join(rows) + "</tfoot>"


def upcoming_section(data: dict[str, Any], locale: Locale) -> str:
    upcoming, subscription, product = data["upcoming"], data["subscription"], data.get("product")
    if not subscription or not upcoming:
        return '<p class="muted">No active subscription.</p>'
    prices = {p.id: p for p in product.prices} if product else {}
    currency = upcoming.currency
    lines = "".join(_line_row(line, prices, data.get("meter_names") or {}, currency, locale)
                    for line in upcoming.lines)
    ending = (" The subscription ends then; it will not renew." if subscription.cancel_at_period_end
              else "")
    return f"""
<p><strong>{escape(product.name if product else '')}</strong>: this period runs from
  {_time(subscription.current_period_start)} to {_time(subscription.current_period_end)} (UTC).
  The invoice will be issued on <span data-field="issue-date">{_time(upcoming.period_end)}</span> and is due
  on <span data-field="due-date">{_time(upcoming.due_at)}</span>.{ending}</p>
<p class="muted small">Usage so far; the amounts grow with usage until the period closes.</p>
<div class="scroll" tabindex="0" role="region" aria-label="Upcoming invoice table">
<table aria-label="Upcoming invoice">
<thead><tr><th scope="col">Item</th><th scope="col" class="num hide-small">Quantity</th>
  <th scope="col" class="num hide-small">Unit price</th><th scope="col" class="num">Amount</th></tr></thead>
<tbody>{lines}</tbody>{invoice_totals(upcoming, locale, "upcoming-total")}</table></div>"""


def balance_section(data: dict[str, Any], locale: Locale) -> str:
    balance = data["balance"]
    credit = "".join(
        f'<p data-field="credit-balance" data-currency="{escape(c["currency"])}">Credit balance: <strong>'
        f'{money(c["balance"], c["currency"], locale)}</strong>, applied to your next invoices in '
        f'{escape(c["currency"].upper())}.</p>' for c in data.get("credit") or [])
    if not balance["count"]:
        return '<p data-field="balance">Nothing is owed on past invoices.</p>' + credit
    count = balance["count"]
    return (f'<p data-field="balance">Balance due on past invoices: <strong>'
            f'{money(balance["amount"], balance["currency"], locale)}</strong> ({count} open invoice'
            f'{"s" if count != 1 else ""}).</p>' + credit)


def invoice_rows(invoices: list[Invoice], locale: Locale = DEFAULT) -> str:
    if not invoices:
        return '<p class="muted">No invoices yet.</p>'
    rows = "".join(
        f"<tr data-invoice-id=\"{escape(inv.id)}\"><th scope=\"row\">{inv.number}</th>"
        f"<td class=\"hide-small\">{_time(inv.created_at)}</td><td>{_time(inv.due_at)}</td>"
        f"<td><span class=\"status-{escape(inv.status)}\">{STATUS_WORDS.get(inv.status, inv.status)}"
        f"</span></td><td class=\"num\">{money(inv.total, inv.currency, locale)}</td>"
        f"<td><a href=\"/portal/invoices/{escape(inv.id)}/pdf\" aria-label=\"PDF of invoice {inv.number}\">"
        f"PDF</a></td></tr>"
        for inv in invoices)
    return ('<div class="scroll" tabindex="0" role="region" aria-label="Past invoices table">'
            '<table aria-label="Past invoices"><thead><tr><th scope="col">Number</th>'
            '<th scope="col" class="hide-small">Issued</th><th scope="col">Due</th><th scope="col">Status</th>'
            '<th scope="col" class="num">Total</th><th scope="col">File</th>'
            f"</tr></thead><tbody>{rows}</tbody></table></div>")


# The page ----------------------------------------------------------------------------------------------------

def _head(title: str, accent: str) -> str:
    return (f'<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="referrer" content="same-origin"><title>{escape(title)}</title>'
            f"<style>:root {{ --accent: {accent}; --on-accent: {on_accent(accent)}; }}{STYLE}{FORM_STYLE}"
            "</style></head>")


def _header(org: dict[str, Any], return_url: str | None) -> str:
    branding = org.get("branding") or {}
    logo = ""
    if (branding.get("logo_url") or "").startswith("https://"):
        logo = f'<img src="{escape(branding["logo_url"])}" alt="" referrerpolicy="no-referrer">'
    back = ""
    if (return_url or "").startswith(("https://", "http://")):
        back = f'<a class="back" href="{escape(return_url or "")}">&larr; Back to {escape(org["name"])}</a>'
    return (f'<header class="brand"><div class="inner">{logo}<span class="org" data-field="org-name">'
            f'{escape(org["name"])}</span>{back}</div></header>')


def _footer(org: dict[str, Any]) -> str:
    email = (org.get("branding") or {}).get("support_email")
    seller = org.get("seller") or {}
    parts = []
    if email:
        parts.append(f'Questions about a bill? Write to <a href="mailto:{escape(email)}" data-field="support">'
                     f"{escape(email)}</a>.")
    legal = seller.get("legal_name")
    address = seller.get("address") or {}
    where = ", ".join(escape(str(address[k])) for k in ("line1", "line2", "postal_code", "city", "country")
                      if address.get(k))
    if legal or where:
        parts.append(f"Billed by {escape(legal or org['name'])}{', ' + where if where else ''}"
                     f"{'. Tax ID ' + escape(seller['tax_id']) if seller.get('tax_id') else ''}.")
    return f'<footer data-field="seller"><p>{" ".join(parts)}</p></footer>' if parts else ""


def _manage(data: dict[str, Any], locale: Locale) -> str:
    done = DONE.get(data.get("done") or "")
    notice = f'<p class="notice" role="status">{escape(done)}</p>' if done else ""
    return f"""<section id="manage" aria-labelledby="manage-title"><h2 id="manage-title">Your plan and details</h2>
    {notice}{manage_section(data, locale)}
    <h3>Billing details</h3>{billing_form(data["customer"])}</section>"""


def portal_page(data: dict[str, Any], locale: Locale = DEFAULT) -> str:
    org = data["organization"]
    customer = data["customer"]
    accent = (org.get("branding") or {}).get("accent_color") or DEFAULT_ACCENT
    who = customer.name or customer.email or customer.external_id or ""
    return f"""<!doctype html>
<html lang="en">
{_head(f"Usage and billing · {org['name']}", accent)}
<body>
<a class="skip" href="#content">Skip to content</a>
{_header(org, data.get("return_url"))}
<main id="content" tabindex="-1">
  <h1>Usage and billing</h1>
  <p class="muted" data-field="customer">{escape(who)}</p>
  <section aria-labelledby="meters-title"><h2 id="meters-title">Usage this period</h2>
    <div id="meters-live">{meters_fragment(data["meters"], locale)}</div></section>
  <section aria-labelledby="upcoming-title"><h2 id="upcoming-title">Upcoming invoice</h2>
    {upcoming_section(data, locale)}</section>
  {_manage(data, locale)}
  <section aria-labelledby="invoices-title"><h2 id="invoices-title">Invoices</h2>
    {balance_section(data, locale)}
    {invoice_rows(data["invoices"], locale)}</section>
</main>
{_footer(org)}
<script>{SCRIPT}</script>
</body></html>"""


def message_page(title: str, text: str, back: bool = False) -> str:
    link = '<p><a href="/portal">Back to the portal</a></p>' if back else ""
    return (f'<!doctype html><html lang="en">{_head(title, DEFAULT_ACCENT)}<body><main id="content">'
            f"<h1>{escape(title)}</h1><p>{escape(text)}</p>{link}</main></body></html>")


# Self-service --------------------------------------------------------------------------------------------------

DONE = {"plan": "Your plan has been changed.", "canceled": "Your subscription will end at the end of this period.",
        "resumed": "Your subscription will renew as usual.", "details": "Your billing details have been saved."}
FORM_STYLE = """
form.inline { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin: .5rem 0; }
label { display: block; font-size: .9rem; font-weight: 600; margin-bottom: .2rem; }
input, select { font: inherit; padding: .4rem .5rem; border: 1px solid #8c959f; border-radius: .35rem;
  max-width: 100%; box-sizing: border-box; }
.fields { display: grid; gap: .6rem; grid-template-columns: repeat(auto-fit, minmax(min(100%, 14rem), 1fr)); }
.fields input { width: 100%; }
button { font: inherit; padding: .45rem .9rem; border-radius: .35rem; border: 1px solid var(--accent);
  background: var(--accent); color: var(--on-accent); cursor: pointer; }
button.secondary { background: #fff; color: #1f2328; border-color: #8c959f; }
button:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
.notice { background: #dafbe1; border: 1px solid #4ac26b; border-radius: .35rem; padding: .5rem .75rem; }
"""


def manage_section(data: dict[str, Any], locale: Locale) -> str:
    sub = data.get("subscription")
    if not sub:
        return ""
    sub_id = escape(sub.id)
    parts = []
    offered = data.get("offered") or []
    if offered:
        options = "".join(f'<option value="{escape(p.id)}">{escape(p.name)}</option>' for p in offered)
        parts.append(f"""
<form class="inline" method="get" action="/portal/subscription/change">
  <input type="hidden" name="subscription_id" value="{sub_id}">
  <div><label for="product">Switch to another plan</label>
  <select id="product" name="product_id">{options}</select></div>
  <button type="submit">Preview the change</button>
</form>""")
    if sub.cancel_at_period_end:
        parts.append(f"""
<p data-field="cancel-state">Your subscription ends on {_time(sub.current_period_end)} and will not renew.</p>
<form class="inline" method="post" action="/portal/subscription/cancel">
  <input type="hidden" name="subscription_id" value="{sub_id}">
  <input type="hidden" name="cancel_at_period_end" value="false">
  <button type="submit">Keep my subscription</button>
</form>""")
    else:
        reasons = "".join(f'<option value="{r}">{r.replace("_", " ").capitalize()}</option>' for r in (
            "too_expensive", "missing_features", "switched_service", "unused", "customer_service", "low_quality",
            "other"))
        parts.append(f"""
<p data-field="cancel-state">Your subscription renews on {_time(sub.current_period_end)}.</p>
<form class="inline" method="post" action="/portal/subscription/cancel">
  <input type="hidden" name="subscription_id" value="{sub_id}">
  <input type="hidden" name="cancel_at_period_end" value="true">
  <div><label for="reason">Reason (optional)</label>
  <select id="reason" name="cancellation_reason"><option value="">Prefer not to say</option>{reasons}</select></div>
  <button type="submit" class="secondary">Cancel at the end of the period</button>
</form>""")
    return "".join(parts)


def billing_form(customer: Customer) -> str:
    address = customer.billing_address or {}

    def field(name: str, label: str, value: Any, autocomplete: str, required: bool = False) -> str:
        return (f'<div><label for="bd-{name}">{label}</label><input id="bd-{name}" name="{name}" '
                f'value="{escape(str(value or ""))}" autocomplete="{autocomplete}"'
                f'{" required" if required else ""}></div>')
    return f"""
<form method="post" action="/portal/billing-details" aria-label="Billing details">
  <div class="fields">
    {field("billing_name", "Billing name", customer.billing_name or customer.name, "name")}
    {field("tax_id", "Tax ID", customer.tax_id, "off")}
    {field("line1", "Address", address.get("line1"), "address-line1")}
    {field("line2", "Address line 2", address.get("line2"), "address-line2")}
    {field("postal_code", "Postal code", address.get("postal_code"), "postal-code")}
    {field("city", "City", address.get("city"), "address-level2")}
    {field("state", "State or region", address.get("state"), "address-level1")}
    {field("country", "Country (two letters)", address.get("country"), "country", True)}
  </div>
  <p><button type="submit">Save billing details</button></p>
</form>"""


def change_preview_page(preview: dict[str, Any], locale: Locale = DEFAULT) -> str:
    amount, currency = int(preview["proration_amount"]), preview["currency"]
    if amount > 0:
        effect = (f"{money(amount, currency, locale)} for the rest of this period will be added to your next "
                  f"invoice (before tax).")
    elif amount < 0:
        effect = (f"{money(-amount, currency, locale)} for the rest of this period will be taken off your next "
                  f"invoice (before tax).")
    else:
        effect = "Nothing changes on your bill for the rest of this period."
    prices = "".join(f"<li>{escape(_price_line(p, locale))}</li>" for p in preview["product"].prices)
    return f"""<!doctype html>
<html lang="en">
{_head("Change plan", DEFAULT_ACCENT)}
<body><main id="content">
<h1>Change plan</h1>
<p>From <strong>{escape(preview['current_product']['name'])}</strong> to
  <strong data-field="new-product">{escape(preview['product'].name)}</strong>, from now on.</p>
<ul>{prices}</ul>
<p data-field="proration">{escape(effect)}</p>
<p class="muted small">Usage this period is billed at the end of the period on the new plan's prices.</p>
<form method="post" action="/portal/subscription/change" class="inline">
  <input type="hidden" name="subscription_id" value="{escape(preview['subscription_id'])}">
  <input type="hidden" name="product_id" value="{escape(preview['product'].id)}">
  <button type="submit">Confirm the change</button>
  <a href="/portal#manage">Keep the current plan</a>
</form>
</main></body></html>"""


def _price_line(price: Price, locale: Locale) -> str:
    currency = price.price_currency
    if price.amount_type == "fixed":
        return f"{money(price.price_amount or 0, currency, locale)} per period"
    if price.amount_type == "free":
        return "Free"
    unit = unit_of({"unit": "scalar"})
    included = price.credited_units
    name = price.meter_name or "usage"
    text = f"{name}: {price_words(price, unit, locale)}"
    return text + (f", {number(included, locale)} included" if included else "")


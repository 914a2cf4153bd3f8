"""The portal's HTML, server-rendered (usable without JavaScript); a small script refreshes the meters. Pure."""

from __future__ import annotations

from html import escape
from typing import Any

from functions.billing.render import money

STYLE = """
:root { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; color: #1f2328; background: #f6f8fa; }
body { margin: 0; }
main { max-width: 56rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 0 0 .75rem; }
section { background: #fff; border: 1px solid #d0d7de; border-radius: .5rem; padding: 1rem 1.25rem; margin-top: 1rem; }
.meters { display: grid; gap: .75rem; grid-template-columns: repeat(auto-fit, minmax(15rem, 1fr)); }
.meter { border: 1px solid #d0d7de; border-radius: .5rem; padding: .75rem; }
.meter h3 { font-size: 1rem; margin: 0 0 .5rem; }
.numbers { display: flex; justify-content: space-between; gap: .5rem; font-variant-numeric: tabular-nums; }
.numbers dt { font-size: .75rem; color: #57606a; } .numbers dd { margin: 0; font-weight: 600; }
.bar { height: .5rem; background: #eaeef2; border-radius: .25rem; overflow: hidden; margin-top: .5rem; }
.bar > span { display: block; height: 100%; background: #0969da; }
.bar.over > span { background: #cf222e; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .4rem .25rem; border-bottom: 1px solid #eaeef2; }
td.amount, th.amount { text-align: right; }
.muted { color: #57606a; }
a { color: #0969da; }
@media (max-width: 40rem) { .hide-small { display: none; } }
"""

SCRIPT = """
(function () {
  var format = new Intl.NumberFormat();
  function refresh() {
    fetch('/v1/customer-portal/meters', {credentials: 'same-origin'})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) { return; }
        body.items.forEach(function (m) {
          var card = document.querySelector('[data-meter-id="' + m.meter_id + '"]');
          if (!card) { window.location.reload(); return; }
          card.querySelector('[data-field=consumed]').textContent = format.format(m.consumed_units);
          card.querySelector('[data-field=credited]').textContent = format.format(m.credited_units);
          card.querySelector('[data-field=balance]').textContent = format.format(m.balance);
          var bar = card.querySelector('.bar');
          if (bar && m.credited_units > 0) {
            var pct = Math.min(100, 100 * m.consumed_units / m.credited_units);
            bar.firstElementChild.style.width = pct + '%';
            bar.setAttribute('aria-valuenow', Math.round(pct));
            bar.classList.toggle('over', m.balance < 0);
          }
        });
        document.body.dataset.refreshed = String(Date.now());
      });
  }
  setInterval(refresh, 2000);
})();
"""


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.4f}".rstrip("0").rstrip(".")


def meter_card(row: dict[str, Any]) -> str:
    credited, consumed = row["credited_units"], row["consumed_units"]
    bar = ""
    if credited:
        pct = min(100.0, 100.0 * float(consumed) / float(credited))
        over = " over" if row["balance"] < 0 else ""
        bar = (f'<div class="bar{over}" role="progressbar" aria-label="Usage of included credits" '
               f'aria-valuemin="0" aria-valuemax="100" aria-valuenow="{round(pct)}"><span style="width:{pct:.1f}%">'
               f"</span></div>")
    return f"""
<article class="meter" data-meter-id="{escape(row['meter_id'])}">
  <h3>{escape(row['meter']['name'])}</h3>
  <dl class="numbers">
    <div><dt>Consumed</dt><dd data-field="consumed">{_number(consumed)}</dd></div>
    <div><dt>Credited</dt><dd data-field="credited">{_number(credited)}</dd></div>
    <div><dt>Balance</dt><dd data-field="balance">{_number(row['balance'])}</dd></div>
  </dl>{bar}
  <p class="muted">Period {escape(row['period_start'][:10])} to {escape(row['period_end'][:10])}</p>
</article>"""


def invoice_rows(invoices: list[dict[str, Any]]) -> str:
    if not invoices:
        return '<p class="muted">No invoices yet.</p>'
    rows = "".join(
        f"<tr><td>{inv['number']}</td><td class=\"hide-small\">{escape(inv['created_at'][:10])}</td>"
        f"<td>{escape(inv['status'])}</td><td class=\"amount\">{money(inv['total'], inv['currency'])}</td>"
        f"<td><a href=\"/portal/invoices/{escape(inv['id'])}/pdf\">PDF<span class=\"hide-small\"> of invoice "
        f"{inv['number']}</span></a></td></tr>"
        for inv in invoices)
    return ('<table><thead><tr><th scope="col">Number</th><th scope="col" class="hide-small">Date</th>'
            '<th scope="col">Status</th><th scope="col" class="amount">Total</th><th scope="col">Download</th>'
            f"</tr></thead><tbody>{rows}</tbody></table>")


def upcoming_section(upcoming: dict[str, Any] | None, subscription: dict[str, Any] | None) -> str:
    if not subscription or not upcoming:
        return '<p class="muted">No active subscription.</p>'
    lines = "".join(f"<tr><td>{escape(line['description'])}</td>"
                    f"<td class=\"amount\">{money(line['amount'], upcoming['currency'])}</td></tr>"
                    for line in upcoming["lines"])
    end = escape(subscription["current_period_end"])
    return f"""
<p>{escape(subscription.get('product_name', ''))}: current period ends <time datetime="{end}">{end[:10]}</time>.</p>
<table aria-label="Upcoming invoice"><tbody>{lines}
<tr><th scope="row">Tax</th><td class="amount">{money(upcoming['tax_amount'], upcoming['currency'])}</td></tr>
<tr><th scope="row">Total if the period closed now</th>
    <td class="amount" data-field="upcoming-total">{money(upcoming['total'], upcoming['currency'])}</td></tr>
</tbody></table>"""


def portal_page(data: dict[str, Any]) -> str:
    customer = data["customer"]
    meters = "".join(meter_card(m) for m in data["meters"]) or '<p class="muted">No usage this period yet.</p>'
    back = ""
    if (data.get("return_url") or "").startswith(("https://", "http://")):
        back = f'<p><a href="{escape(data["return_url"])}">&larr; Back</a></p>'
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Usage and billing</title><style>{STYLE}</style></head>
<body>
<main>
  {back}
  <h1>Usage and billing</h1>
  <p class="muted">{escape(customer.get('name') or customer.get('email') or customer.get('external_id') or '')}</p>
  <section aria-labelledby="meters-title"><h2 id="meters-title">Meters</h2>
    <div class="meters" aria-live="polite">{meters}</div></section>
  <section aria-labelledby="upcoming-title"><h2 id="upcoming-title">Upcoming invoice</h2>
    {upcoming_section(data['upcoming'], data['subscription'])}</section>
  <section aria-labelledby="invoices-title"><h2 id="invoices-title">Invoices</h2>
    {invoice_rows(data['invoices'])}</section>
</main>
<script>{SCRIPT}</script>
</body></html>"""


def message_page(title: str, text: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><main><h1>{escape(title)}</h1><p>{escape(text)}</p></main>"
            "</body></html>")

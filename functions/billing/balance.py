"""The customer's credit balance: what a negative invoice leaves to the customer, and how it pays the next
invoices. Pure, integer cents.

As Stripe's customer credit balance: the balance is per currency (credit in USD pays no EUR invoice); it is
applied after tax, to the invoice's total; it never makes an invoice negative. One signed amount per invoice,
`applied_balance`, says what the balance did to it: `amount_due = total + applied_balance`, and the customer's
credit in the invoice's currency changes by the same `applied_balance`.
"""

from __future__ import annotations


def applied_balance(total: int, credit: int) -> int:
    """A negative total is moved to the balance in full (positive: the credit grows by it, nothing is due); a
    positive total is paid from the credit as far as it goes (negative: the amount due shrinks by it)."""
    if credit < 0:
        raise ValueError("a credit balance is never negative")
    if total < 0:
        return -total
    return -min(credit, total)

"""Numbers and money for the customer's locale (from Accept-Language). Pure, no locale database.

A small table of separators covers the locales a portal meets most; anything else falls back to its language,
then to English. Babel or ICU would know every locale but costs the portal Lambda's cold start (docs/portal.md).
Amounts stay Decimal or integer cents up to the text: no float.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

NBSP, NNBSP = "\u00a0", "\u202f"


@dataclass(frozen=True)
class Locale:
    tag: str  # BCP 47, as in <html lang> and the script's Intl.NumberFormat
    group: str
    decimal: str


LOCALES = {
    "en": Locale("en", ",", "."),
    "en-gb": Locale("en-GB", ",", "."),
    "en-in": Locale("en-IN", ",", "."),
    "de": Locale("de", ".", ","),
    "de-ch": Locale("de-CH", "\u2019", "."),
    "fr": Locale("fr", NNBSP, ","),
    "fr-ch": Locale("fr-CH", NNBSP, ","),
    "es": Locale("es", ".", ","),
    "es-mx": Locale("es-MX", ",", "."),
    "it": Locale("it", ".", ","),
    "nl": Locale("nl", ".", ","),
    "pt": Locale("pt", NBSP, ","),
    "pt-br": Locale("pt-BR", ".", ","),
    "pl": Locale("pl", NBSP, ","),
    "sv": Locale("sv", NBSP, ","),
    "da": Locale("da", ".", ","),
    "nb": Locale("nb", NBSP, ","),
    "fi": Locale("fi", NBSP, ","),
    "cs": Locale("cs", NBSP, ","),
    "ru": Locale("ru", NBSP, ","),
    "ja": Locale("ja", ",", "."),
    "zh": Locale("zh", ",", "."),
    "ko": Locale("ko", ",", "."),
}
DEFAULT = LOCALES["en"]


def negotiate(accept_language: str | None) -> Locale:
    """The first locale of the header (by q-value, then order) that the table knows, exactly or by language."""
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and quality > 0:
            choices.append((-quality, index, tag.strip().lower()))
    for _, _, tag in sorted(choices):
        if tag in LOCALES:
            return LOCALES[tag]
        language = tag.split("-")[0]
        if language in LOCALES:
            return LOCALES[language]
    return DEFAULT


def _group(digits: str, sep: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)]
    return sep.join(parts)


def number(value: int | float | Decimal | str, locale: Locale = DEFAULT, max_places: int = 4,
           min_places: int = 0) -> str:
    """Grouped digits; at most `max_places` decimals (trailing zeros dropped down to `min_places`)."""
    exact = value if isinstance(value, Decimal) else Decimal(str(value))
    quantum = Decimal(1).scaleb(-max_places)
    exact = exact.quantize(quantum) if exact.is_finite() else Decimal(0)
    sign = "-" if exact < 0 else ""
    whole, _, fraction = f"{abs(exact):f}".partition(".")
    fraction = fraction.rstrip("0")
    fraction = fraction + "0" * max(0, min_places - len(fraction))
    text = _group(whole, locale.group)
    if sign and (text.strip("0") or fraction.strip("0")):
        text = "\u2212" + text  # the minus sign, not a hyphen
    return f"{text}{locale.decimal}{fraction}" if fraction else text


def money(cents: int, currency: str, locale: Locale = DEFAULT) -> str:
    """Whole cents as "1,234.50 USD" in the customer's locale (the ISO code after the amount, as invoices do)."""
    return f"{number(Decimal(int(cents)) / 100, locale, 2, 2)}{NBSP}{currency.upper()}"


def unit_money(cents: Decimal, currency: str, locale: Locale = DEFAULT) -> str:
    """A per-unit amount (Decimal cents, up to 12 places) in currency units, never rounded away."""
    places = max(2, -cents.normalize().as_tuple().exponent + 2)  # type: ignore[operator]
    return f"{number(cents / 100, locale, min(places, 14), 2)}{NBSP}{currency.upper()}"


def percent(basis_points: int, locale: Locale = DEFAULT) -> str:
    return f"{number(Decimal(basis_points) / 100, locale, 2)}{NBSP}%" if locale.decimal == "," else \
        f"{number(Decimal(basis_points) / 100, locale, 2)}%"

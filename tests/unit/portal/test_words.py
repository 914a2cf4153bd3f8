"""The portal's words and numbers: locale formatting, price phrases, tier breakdowns, meter sentences. Pure."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from functions.portal.locale import LOCALES, NBSP, NNBSP, money, negotiate, number, percent
from functions.portal.pages import on_accent
from functions.portal.words import Unit, line_detail, meter_sentence, price_words, unit_of
from functions.store.billing_entities import InvoiceLine
from tests.unit.entities import price

TOKENS = Unit("token", "tokens")
GRADUATED = price(amount_type="metered_tiers", id="p", meter_id="m", price_currency="usd",
                  tiers={"type": "graduated", "tiers": [{"bound": 1000, "unit_amount": "2"},
                                                        {"bound": 5000, "unit_amount": "1"},
                                                        {"bound": None, "unit_amount": "0.5"}]})


def test_accept_language_picks_the_first_known_locale_by_quality() -> None:
    assert negotiate("de-DE,de;q=0.9,en;q=0.8").tag == "de"
    assert negotiate("fr-CH, fr;q=0.9").tag == "fr-CH"
    assert negotiate("xx, pt-BR;q=0.5, es;q=0.7").tag == "es"
    assert negotiate("en;q=0, de;q=0.1").tag == "de"
    assert negotiate(None).tag == negotiate("").tag == negotiate("*").tag == negotiate("q=;;,").tag == "en"


def test_numbers_and_money_in_each_locale() -> None:
    assert number(1234567, LOCALES["en"]) == "1,234,567"
    assert number(Decimal("1234.5"), LOCALES["de"]) == "1.234,5"
    assert number(Decimal("-4780"), LOCALES["fr"]) == f"\u22124{NNBSP}780"
    assert number(Decimal("0.00001")) == "0"
    assert number(Decimal("-0.00001")) == "0"  # no "-0"
    assert money(123456, "usd") == f"1,234.56{NBSP}USD"
    assert money(-5, "eur", LOCALES["de"]) == f"\u22120,05{NBSP}EUR"
    assert percent(1950) == "19.5%" and percent(2000, LOCALES["de"]) == f"20{NBSP}%"


@given(st.integers(min_value=-10**15, max_value=10**15), st.sampled_from(sorted(LOCALES)))
def test_formatted_numbers_read_back_exactly(value: int, tag: str) -> None:
    locale = LOCALES[tag]
    text = number(Decimal(value) / 100, locale, 2)
    back = text.replace(locale.group, "").replace(locale.decimal, ".").replace("\u2212", "-")
    assert Decimal(back) == Decimal(value) / 100


def test_unit_prices_scale_to_a_readable_block() -> None:
    unit_price = price(amount_type="metered_unit", unit_amount="0.002", price_currency="usd")
    assert price_words(unit_price, TOKENS) == f"0.02{NBSP}USD per 1,000 tokens"
    assert price_words(replace(unit_price, unit_amount="2"), Unit("unit", "units")) == f"0.02{NBSP}USD per unit"
    assert price_words(replace(unit_price, unit_amount="0.000001", cap_amount=5000), TOKENS) == (
        f"0.01{NBSP}USD per 1,000,000 tokens, at most 50.00{NBSP}USD per period")
    assert price_words(price(amount_type="metered_package", package_size=100, package_amount=250,
                             price_currency="eur"), TOKENS, LOCALES["de"]) == (
        f"2,50{NBSP}EUR per started package of 100 tokens")
    assert "1 to 1,000 at" in price_words(GRADUATED, TOKENS) and "5,001 and above" in price_words(GRADUATED, TOKENS)
    assert price_words(None, TOKENS) == ""


def test_meter_sentence_says_left_over_and_price() -> None:
    unit_price = price(amount_type="metered_unit", unit_amount="0.002", price_currency="usd")
    over = {"consumed_units": 14780, "credited_units": 10000}
    assert meter_sentence(over, TOKENS, unit_price) == (
        f"14,780 tokens used: 4,780 tokens over the 10,000 included, billed at 0.02{NBSP}USD per 1,000 tokens.")
    within = {"consumed_units": 1, "credited_units": 10000}
    assert meter_sentence(within, TOKENS, None) == "1 token used of the 10,000 included: 9,999 tokens left."
    assert meter_sentence({"consumed_units": 3, "credited_units": 0}, Unit("unit", "units"), None) == (
        "3 units used, not billed.")
    assert unit_of({"unit": "custom", "custom_label": "GB"}).many == "GB"
    assert unit_of({"unit": "token"}) == TOKENS


def test_line_detail_shows_credits_and_tiers() -> None:
    line = InvoiceLine(kind="metered", description="Usage", quantity="1500", consumed_units="2500",
                       credited_units="1000", amount=2500)
    detail = line_detail(line, GRADUATED, TOKENS, "usd")
    assert detail[0] == "2,500 tokens used, 1,000 covered by the 1,000 included; 1,500 billable."
    assert detail[1] == f"Tier 1 to 1,000: 1,000 \u00d7 0.02{NBSP}USD = 20.00{NBSP}USD."
    assert detail[2] == f"Tier 1,001 to 5,000: 500 \u00d7 0.01{NBSP}USD = 5.00{NBSP}USD."


def test_text_on_the_accent_colour_contrasts() -> None:
    assert on_accent("#ffd33d") == "#000000" and on_accent("#0969da") == "#ffffff"

from datetime import UTC, datetime, timedelta, timezone

from functions.meters.periods import calendar_month, next_period


def test_calendar_month_is_utc_and_half_open() -> None:
    period = calendar_month(datetime(2026, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-2))))
    assert period.start == datetime(2027, 1, 1, tzinfo=UTC)  # 01:30 UTC on Jan 1
    assert period.end == datetime(2027, 2, 1, tzinfo=UTC)
    assert period.contains(period.start) and not period.contains(period.end)


def test_next_period_rolls_over_the_year() -> None:
    december = calendar_month(datetime(2026, 12, 5, tzinfo=UTC))
    assert next_period(december).start == datetime(2027, 1, 1, tzinfo=UTC)

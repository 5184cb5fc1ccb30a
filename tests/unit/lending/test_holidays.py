"""Due dates on Chinese public holidays move to the next working day; beyond the data, a warned fallback."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import chinese_calendar
import pytest

from app.lending.codec import terms_from_mapping
from app.lending.errors import TermsError
from app.lending.holidays import HolidayCalendar, HolidayDataWarning
from app.lending.schedule import generate_schedule

NATIONAL_DAY = date(2026, 10, 1)
FAR_YEAR = 2099  # far beyond any year chinese_calendar publishes


def monthly(disbursed_on: str, shift: bool, **more: object) -> dict[str, object]:
    return {"principal": "12000", "annual_rate": "12", "repayments": 3, "disbursed_on": disbursed_on,
            "shift_due_dates_on_holidays": shift, **more}


def test_a_due_date_on_national_day_moves_to_the_next_working_day() -> None:
    rows = generate_schedule(terms_from_mapping(monthly("2026-09-01", shift=True))).instalments
    first = rows[0].due_date
    assert not chinese_calendar.is_workday(NATIONAL_DAY)
    assert first > NATIONAL_DAY and chinese_calendar.is_workday(first)
    skipped = [NATIONAL_DAY + timedelta(days=n) for n in range((first - NATIONAL_DAY).days)]
    assert skipped and not any(chinese_calendar.is_workday(d) for d in skipped)
    # Sunday 1 November moves to Monday; Tuesday 1 December stays: dates stay anchored to the 1st
    assert rows[1].due_date == date(2026, 11, 2)
    assert rows[2].due_date == date(2026, 12, 1)
    assert rows[1].start_date == first


def test_without_the_setting_due_dates_stay_on_the_holiday() -> None:
    rows = generate_schedule(terms_from_mapping(monthly("2026-09-01", shift=False))).instalments
    assert rows[0].due_date == NATIONAL_DAY


def test_the_shift_changes_daily_interest_but_not_a_monthly_rate() -> None:
    plain = generate_schedule(terms_from_mapping(monthly("2026-09-01", shift=False)))
    moved = generate_schedule(terms_from_mapping(monthly("2026-09-01", shift=True)))
    assert [r.interest for r in plain.instalments] == [r.interest for r in moved.instalments]
    daily = {"interest_period": "daily", "days_in_year": "365"}
    plain_daily = generate_schedule(terms_from_mapping(monthly("2026-09-01", shift=False, **daily)))
    moved_daily = generate_schedule(terms_from_mapping(monthly("2026-09-01", shift=True, **daily)))
    extra_days = (moved_daily.instalments[0].due_date - NATIONAL_DAY).days
    assert moved_daily.instalments[0].interest == (
        Decimal(12000) * Decimal("0.12") * (30 + extra_days) / 365).quantize(Decimal("0.01"))
    assert moved_daily.instalments[0].interest > plain_daily.instalments[0].interest


def test_beyond_the_published_years_weekends_and_the_admin_table_apply_with_a_warning() -> None:
    calendar = HolidayCalendar(admin_holidays=frozenset({date(FAR_YEAR, 3, 2)}))
    with pytest.warns(HolidayDataWarning, match=str(FAR_YEAR)):
        schedule = generate_schedule(terms_from_mapping(monthly(f"{FAR_YEAR}-01-01", shift=True)), calendar)
    due = [r.due_date for r in schedule.instalments]
    assert due[0] == date(FAR_YEAR, 2, 2)  # Sunday 1 February → Monday
    assert due[1] == date(FAR_YEAR, 3, 3)  # Sunday 1 March → Monday 2 March is an admin holiday → Tuesday
    assert due[2] == date(FAR_YEAR, 4, 1)  # a Wednesday


def test_the_fallback_warns_once_per_year_and_calendar() -> None:
    calendar = HolidayCalendar()
    with pytest.warns(HolidayDataWarning) as caught:
        calendar.next_working_day(date(FAR_YEAR, 2, 1))
        calendar.next_working_day(date(FAR_YEAR, 3, 1))
        calendar.next_working_day(date(FAR_YEAR + 1, 1, 1))
    assert sorted(str(w.message).split(" for ")[1][:4] for w in caught) == [str(FAR_YEAR), str(FAR_YEAR + 1)]


def test_inside_the_data_the_admin_table_is_not_needed_and_days_worked_in_lieu_count() -> None:
    calendar = HolidayCalendar()
    saturday_worked = date(2026, 10, 10)  # the weekend day worked in lieu of National Day
    assert saturday_worked.weekday() == 5
    assert calendar.next_working_day(saturday_worked) == saturday_worked


def test_shifting_that_merges_due_dates_is_refused() -> None:
    terms = terms_from_mapping({"principal": "1000", "annual_rate": "10", "repayments": 5, "frequency": "days",
                                "every": 1, "disbursed_on": "2026-09-30", "shift_due_dates_on_holidays": True})
    with pytest.raises(TermsError) as caught:
        generate_schedule(terms)
    assert caught.value.field == "shift_due_dates_on_holidays"

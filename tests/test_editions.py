"""Rules editions chosen by document date."""

from __future__ import annotations

import datetime as dt

import pytest

from adapter.editions import edition_by_id, edition_for_date
from adapter.errors import InputError

START = dt.date(2026, 4, 24)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2026, 4, 24), "2026-04"),
        (dt.date(2026, 7, 11), "2026-04"),
        (dt.date(2026, 7, 12), "2026-07-12"),
        (dt.date(2030, 1, 1), "2026-07-12"),
    ],
)
def test_edition_for_date(day, expected):
    assert edition_for_date(day, START).id == expected


def test_date_before_first_edition_names_dates():
    with pytest.raises(InputError) as caught:
        edition_for_date(dt.date(2026, 4, 23), START)
    text = str(caught.value)
    assert "2026-04-23" in text
    assert "2026-04-24" in text
    assert "documents.first_edition_start" in text


def test_first_edition_start_is_configurable():
    assert edition_for_date(dt.date(2026, 4, 20), dt.date(2026, 4, 18)).id == "2026-04"


def test_unknown_edition_id():
    with pytest.raises(InputError) as caught:
        edition_by_id("2025", START)
    assert "2026-07-12" in str(caught.value)

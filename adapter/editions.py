"""Editions of the rules, chosen by the document date.

Order No. 159-НҚ of 7 April 2026 restates the rules twice: its Appendix 1
("information system") is in force from ten calendar days after the order's
first official publication until 2026-07-11, and its Appendix 2 ("digital
system") from 2026-07-12. The Appendix 2 form reads the same in both; the
Appendix 1 form differs in that one term.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .errors import InputError
from .i18n import N_

__all__ = ["EDITIONS", "Edition", "edition_for_date", "edition_by_id", "editions"]


@dataclass(frozen=True, slots=True)
class Edition:
    """One edition of the rules: its id and the dates it is in force (``until`` inclusive)."""

    id: str
    since: dt.date
    until: dt.date | None

    def in_force(self, day: dt.date) -> bool:
        """Return whether the edition is in force on ``day``."""
        return self.since <= day and (self.until is None or day <= self.until)


SECOND_EDITION_START = dt.date(2026, 7, 12)
EDITIONS: tuple[str, ...] = ("2026-04", "2026-07-12")


def editions(first_edition_start: dt.date) -> tuple[Edition, ...]:
    """Return the editions in date order, the first starting on ``first_edition_start``."""
    return (
        Edition("2026-04", first_edition_start, SECOND_EDITION_START - dt.timedelta(days=1)),
        Edition("2026-07-12", SECOND_EDITION_START, None),
    )


def edition_by_id(edition_id: str, first_edition_start: dt.date) -> Edition:
    """Return the edition with ``edition_id``, or raise :class:`InputError` listing the valid ids."""
    for edition in editions(first_edition_start):
        if edition.id == edition_id:
            return edition
    raise InputError(
        N_("unknown rules edition {value!r}; use one of: {valid}"),
        field="document.edition",
        value=edition_id,
        valid=", ".join(EDITIONS),
    )


def edition_for_date(day: dt.date, first_edition_start: dt.date) -> Edition:
    """Return the edition in force on ``day``.

    A day before the first edition is an error that names the first
    edition's start date and the setting that moves it.
    """
    for edition in editions(first_edition_start):
        if edition.in_force(day):
            return edition
    raise InputError(
        N_("the document date {value} is before the first edition of the rules (2026-04, in force from {since}; 2026-07-12 from 2026-07-12); use a later date, or set documents.first_edition_start to the date the first edition came into force"),
        field="document.date",
        value=day.isoformat(),
        since=first_edition_start.isoformat(),
    )

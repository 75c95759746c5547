"""Reading and writing the unqualified child elements of the gateway's messages."""

from __future__ import annotations

import datetime as dt

from lxml import etree

from ..errors import InputError
from ..i18n import N_

__all__ = ["add_child", "child", "child_text", "format_datetime", "parse_datetime", "required_text"]


def format_datetime(value: dt.datetime) -> str:
    """Return an ``xs:dateTime`` with milliseconds and an explicit offset (UTC for naive values)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.isoformat(timespec="milliseconds")


def parse_datetime(text: str, field: str) -> dt.datetime:
    """Parse an ``xs:dateTime``; a value without offset is taken as UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            N_("{field} must be an xs:dateTime such as 2026-05-01T10:30:00+05:00, got {value!r}"),
            field=field,
            value=text,
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def child(parent: etree._Element, name: str) -> etree._Element | None:
    """Return the first unqualified child ``name`` of ``parent``."""
    for element in parent:
        if element.tag == name:
            return element
    return None


def child_text(parent: etree._Element, name: str) -> str | None:
    """Return the text of the unqualified child ``name`` ("" when empty), or ``None`` when absent."""
    element = child(parent, name)
    if element is None:
        return None
    return element.text or ""


def required_text(parent: etree._Element, name: str, path: str) -> str:
    """Return the text of a required child, raising :class:`~adapter.errors.InputError` when missing."""
    text = child_text(parent, name)
    if text is None or not text.strip():
        raise InputError(N_("required element {field} is missing or empty"), field=f"{path}/{name}", value=None)
    return text.strip()


def add_child(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    """Append an unqualified child element with optional text."""
    element = etree.SubElement(parent, name)
    if text is not None:
        element.text = text
    return element

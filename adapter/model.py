"""Domain model: the Appendix 2 notification and the Appendix 1 staff roster.

The objects are frozen and hold values already normalised by
:mod:`adapter.validation` (A-label domains, canonical MAC and phone numbers).
Building them directly skips those checks; use :func:`adapter.inputs.load_input`
or :func:`adapter.validation.validate_notification` for values a person typed.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

__all__ = [
    "Document",
    "DocumentHeader",
    "DocumentKind",
    "Employee",
    "Evidence",
    "Fact",
    "Language",
    "Notification",
    "Organisation",
    "Roster",
    "Signatory",
    "SignatoryRole",
    "Violation",
]


class Language(enum.StrEnum):
    """Language of a document: Kazakh or Russian, the two official languages."""

    KK = "kk"
    RU = "ru"


class SignatoryRole(enum.StrEnum):
    """Role of the official who signs.

    A notification is signed by the first head or a deputy; a roster may be
    signed by any employee with a signing certificate.
    """

    HEAD = "head"
    DEPUTY = "deputy"
    EMPLOYEE = "employee"


class DocumentKind(enum.StrEnum):
    """The two document types of the rules."""

    NOTIFICATION = "notification"
    ROSTER = "roster"


@dataclass(frozen=True, slots=True)
class Organisation:
    """A state body: the sender, or the authorised body as recipient.

    ``bin`` is the 12-digit business identification number; the recipient's
    may be omitted.
    """

    name_kk: str
    name_ru: str
    bin: str | None = None

    def name(self, language: str) -> str:
        """Return the name in ``language``, falling back to Kazakh."""
        return self.name_ru if language == "ru" else self.name_kk


@dataclass(frozen=True, slots=True)
class Signatory:
    """The official who signs: position, full name, IIN and role."""

    position: str
    full_name: str
    iin: str
    role: SignatoryRole


@dataclass(frozen=True, slots=True)
class DocumentHeader:
    """Fields shared by both documents.

    ``edition`` is the id of the rules edition the document follows
    (``2026-04`` or ``2026-07-12``), chosen from ``date`` unless given.
    """

    number: str
    date: dt.date
    language: Language
    edition: str
    sender: Organisation
    recipient: Organisation


@dataclass(frozen=True, slots=True)
class Violation:
    """Item 1 and 2 of the form: the violation type and the legal norm.

    ``type`` is a code of :data:`adapter.codelists.VIOLATION_TYPES`; for
    ``other`` the ``description`` is mandatory and names the type.
    """

    type: str
    legal_norm: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Fact:
    """One line of item 3: an identified fact of a violation.

    At least one of ``ip``, ``domain`` and ``url`` is present. ``domain`` is
    the ASCII (A-label) form, ``xn--80ao21a`` for ``қаз``; the Unicode form is
    :attr:`domain_unicode`. ``mac`` is six upper-case hex pairs joined by
    ``-``; ``imei`` is 15 digits with a valid Luhn check digit.
    """

    number: int
    protocol: str
    ip: str | None = None
    domain: str | None = None
    url: str | None = None
    mac: str | None = None
    imei: str | None = None
    description: str | None = None

    @property
    def domain_unicode(self) -> str | None:
        """Return the domain in Unicode (U-label) form, for people to read."""
        if self.domain is None:
            return None
        import idna

        try:
            return idna.decode(self.domain)
        except idna.IDNAError:
            return self.domain


@dataclass(frozen=True, slots=True)
class Evidence:
    """A screenshot or other file that proves a violation.

    The file itself travels beside the document; the document binds it by
    ``sha256`` (lower-case hex) and ``size`` in bytes. ``fact`` ties it to a
    fact number when it proves one fact only.
    """

    number: int
    file_name: str
    media_type: str
    size: int
    sha256: str
    fact: int | None = None


@dataclass(frozen=True, slots=True)
class Employee:
    """A row of the roster. Personal data: never log it in clear."""

    number: int
    full_name: str
    work_email: str
    mobile_phone: str

    def __repr__(self) -> str:
        return f"Employee(number={self.number}, <personal data hidden>)"


@dataclass(frozen=True, slots=True)
class Notification:
    """The Appendix 2 notification of identified violations."""

    header: DocumentHeader
    violation: Violation
    facts: tuple[Fact, ...]
    signatory: Signatory
    evidence: tuple[Evidence, ...] = field(default=())

    kind = DocumentKind.NOTIFICATION

    def __repr__(self) -> str:
        return f"Notification(number={self.header.number!r}, date={self.header.date}, facts={len(self.facts)})"


@dataclass(frozen=True, slots=True)
class Roster:
    """The Appendix 1 list of employees who record violations."""

    header: DocumentHeader
    employees: tuple[Employee, ...]
    signatory: Signatory

    kind = DocumentKind.ROSTER

    def __repr__(self) -> str:
        return f"Roster(number={self.header.number!r}, date={self.header.date}, employees={len(self.employees)})"


Document = Notification | Roster

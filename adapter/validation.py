"""Validation beyond the XSD: field normalizers and document checks.

The field normalizers take a value as a person typed it and return the
canonical form the model stores, or raise :class:`~adapter.errors.InputError`
naming the field, the value and what a valid value looks like:

- IP addresses: any syntactically valid IPv4 or IPv6 address, in the short
  form of :mod:`ipaddress` (``2001:db8::1``). Private and reserved addresses
  are accepted, because a resource inside a provider's network may still be
  blocked there.
- Domain names: IDNA 2008 with the UTS 46 mapping (the ``idna`` package). The
  model stores the ASCII form (A-label, ``xn--e1afmkfd.xn--80ao21a`` for
  ``пример.қаз``) because DNS, blocking equipment and byte-for-byte duplicate
  checks work on it. People read the Unicode form (U-label) from
  :attr:`adapter.model.Fact.domain_unicode`.
- URLs: a scheme and a host are required. The host is stored like a domain
  name (A-label) or an IP address, and non-ASCII characters of the path and
  query are percent-encoded as UTF-8.
- MAC addresses: ``aa:bb:cc:dd:ee:ff``, ``AA-BB-CC-DD-EE-FF``,
  ``aabb.ccdd.eeff`` or 12 bare hex digits, stored as ``AA-BB-CC-DD-EE-FF``.
- IMEI: exactly 15 digits with a valid Luhn check digit. The 14 digits
  without the check digit and the 16-digit IMEISV are rejected, because the
  device shows all 15 digits (``*#06#``).
- IIN and BIN: 12 digits with the check digit of the state registers, plus
  the IIN's date of birth and century digit and the BIN's registration month,
  type and attribute digits. Use these for values a person typed; the IIN and
  BIN read from a certificate are taken as they are.
- Roster e-mail addresses (ASCII local part, domain as A-label) and Kazakh
  mobile numbers (``+7 7XX XXX XX XX``, mobile codes 70x, 747 and 77x).

A fact's domain must equal the host of its URL or be a parent of it
(domain ``casino.kz`` with URL ``https://www.casino.kz/slots``). Blocking a
domain also blocks its subdomains, so such a URL is a page of the same
resource. A URL on another host is another resource and belongs in a fact of
its own. When the URL's host is an IP address, the fact's IP address must be
the same address.

:func:`validate_notification` and :func:`validate_roster` check a whole
document built in code and return every problem found;
:func:`check_notification` and :func:`check_roster` raise
:class:`~adapter.errors.InvalidDocumentError` instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import ipaddress
import re
import string
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import idna

from . import codelists, editions
from .config import Config
from .errors import InputError, InvalidDocumentError, Problem
from .i18n import N_
from .model import Evidence, Fact, Language, Notification, Roster, SignatoryRole

__all__ = [
    "EVIDENCE_MEDIA_TYPES",
    "MOBILE_CODES",
    "NOTIFICATION_ROLES",
    "ROSTER_ROLES",
    "TEXT_LIMITS",
    "check_notification",
    "check_roster",
    "domain_to_unicode",
    "mask_personal",
    "normalize_domain",
    "normalize_email",
    "normalize_imei",
    "normalize_ip",
    "normalize_mac",
    "normalize_phone",
    "normalize_protocol",
    "normalize_role",
    "normalize_url",
    "normalize_violation_type",
    "validate_bin",
    "validate_iin",
    "validate_notification",
    "validate_roster",
]

#: Media types of evidence files: screenshots and scanned or printed pages.
EVIDENCE_MEDIA_TYPES: frozenset[str] = frozenset({"image/png", "image/jpeg", "application/pdf"})

#: Mobile network codes of the Kazakh numbering plan: 700-709, 747 and 770-779.
#: Geographic numbers use 710-729, and 75x and 76x are other services.
MOBILE_CODES: frozenset[str] = frozenset({f"70{d}" for d in range(10)} | {"747"} | {f"77{d}" for d in range(10)})

#: Roles that may sign a notification: the first head or a deputy.
NOTIFICATION_ROLES: tuple[SignatoryRole, ...] = (SignatoryRole.HEAD, SignatoryRole.DEPUTY)
#: Roles that may sign a roster.
ROSTER_ROLES: tuple[SignatoryRole, ...] = (SignatoryRole.HEAD, SignatoryRole.DEPUTY, SignatoryRole.EMPLOYEE)

#: Maximum length of each text field, in characters, as the XML schemas allow.
TEXT_LIMITS: Mapping[str, int] = {
    "document.number": 64,
    "sender.name_kk": 500,
    "sender.name_ru": 500,
    "recipient.name_kk": 500,
    "recipient.name_ru": 500,
    "signatory.position": 500,
    "signatory.full_name": 500,
    "employees.full_name": 500,
    "employees.work_email": 254,
    "violation.description": 4000,
    "violation.legal_norm": 4000,
    "facts.description": 4000,
    "facts.url": 8192,
}

# Locations of problems; Problem.localized translates them like messages.
FACT_LOCATION = N_("fact {fact}")
EMPLOYEE_LOCATION = N_("employee {employee}")
EVIDENCE_LOCATION = N_("evidence {evidence}")

_MAX_DOMAIN_LENGTH = 253
_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_MAC_PATTERNS = (
    re.compile(r"([0-9A-Fa-f]{2})([:-])([0-9A-Fa-f]{2})\2([0-9A-Fa-f]{2})\2([0-9A-Fa-f]{2})\2([0-9A-Fa-f]{2})\2([0-9A-Fa-f]{2})"),
    re.compile(r"([0-9A-Fa-f]{4})\.([0-9A-Fa-f]{4})\.([0-9A-Fa-f]{4})"),
    re.compile(r"([0-9A-Fa-f]{12})"),
)
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_PHONE_DECORATION = re.compile(r"[\s()\-.]")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_IPV4_CHARACTERS = re.compile(r"[0-9.]+")
_URL_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")
# Characters a URL may keep as they are: RFC 3986 reserved and unreserved characters and "%".
_URL_SAFE = string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%"

_IIN_CENTURIES = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}
_BIN_TYPES = frozenset("456")
_BIN_ATTRIBUTES = frozenset("0123")

_MASK = "•"  # stands for hidden characters of personal data in messages
_EMAIL_MASK = _MASK * 5  # a fixed count, so the mask does not give away the length


# --- personal data in messages -------------------------------------------------------------


def _mask_phone(text: str) -> str:
    # Keep the country and operator codes (first 4 digits) and the last 2 digits, which
    # are enough to find the row, and the separators as typed.
    digit_count = sum(character.isdigit() for character in text)
    keep_head = 4 if digit_count >= 8 else 0
    keep_tail = 2 if digit_count >= 4 else 0
    masked: list[str] = []
    seen = 0
    for character in text:
        if character.isdigit():
            seen += 1
            keep = seen <= keep_head or seen > digit_count - keep_tail
            masked.append(character if keep else _MASK)
        else:
            masked.append(_MASK if character.isalpha() else character)
    return "".join(masked)


def _mask_word(word: str) -> str:
    if len(word) <= 2:
        return word[:1] + _EMAIL_MASK
    return word[0] + _EMAIL_MASK + word[-1]


def _mask_email(text: str) -> str:
    # The domain names the organisation, not the person, so it stays readable.
    local, at, domain = text.partition("@")
    return _mask_word(local) + at + domain if local else text


def _mask_name(text: str) -> str:
    return " ".join(word[0] + _MASK * 3 for word in text.split())


def _mask_iin(text: str) -> str:
    if len(text) < 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 6) + text[-2:]


_PERSONAL_MASKS = {
    "full_name": _mask_name,
    "work_email": _mask_email,
    "mobile_phone": _mask_phone,
    "iin": _mask_iin,
}


def mask_personal(field: str | None, value: object) -> object:
    """Return ``value`` masked for an error message when ``field`` contains personal data, else unchanged.

    Personal data are the roster's names, work e-mails and mobile numbers and
    a signatory's IIN. The mask keeps enough to find the row
    (``+7 777 ••• •• 43``, ``r•••••v@example.kz``,
    ``9211******34``) but not enough to read the value.
    """
    mask = _PERSONAL_MASKS.get((field or "").rpartition(".")[2])
    if mask is None or value is None:
        return value
    return mask(str(value))


# --- text fields ---------------------------------------------------------------------------


def _text(value: object, field: str) -> str:
    """Return ``value`` stripped, or raise when it is missing, empty or not text."""
    if value is None:
        raise InputError(N_("{field} is required but missing or empty"), field=field, code="missing")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(N_("{field} must be text, not \"{value}\""), field=field, value=mask_personal(field, value), code="wrong-type")
    text = str(value).strip()
    if not text:
        raise InputError(N_("{field} is required but missing or empty"), field=field, value=value, code="missing")
    _check_length(text, field)
    return text


def _check_length(text: str, field: str) -> None:
    """Raise when ``text`` is longer than :data:`TEXT_LIMITS` allows for ``field``."""
    limit = TEXT_LIMITS.get(field)
    if limit is not None and len(text) > limit:
        # The value itself is left out: it is long, and for a roster it is personal data.
        raise InputError(
            N_("{field} has {length} characters, more than the limit of {limit}: shorten it"),
            field=field,
            length=len(text),
            limit=limit,
            code="too-long",
        )


def require_text(value: object, field: str) -> str:
    """Return ``value`` stripped of surrounding spaces; raise :class:`InputError` when it is missing, empty or not text."""
    return _text(value, field)


# --- network identifiers -------------------------------------------------------------------


def normalize_ip(value: object, *, field: str = "facts.ip") -> str:
    """Return the IPv4 or IPv6 address in ``value`` in its canonical short form.

    Square brackets around an IPv6 address are removed. A port, a prefix
    length, a zone id (``%eth0``) and IPv4 parts with leading zeros are
    rejected.
    """
    text = _text(value, field)
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    if "/" in candidate:
        raise InputError(
            N_("{field} \"{value}\" is a network, not an address: write one address such as 203.0.113.10, and list each address as its own fact"),
            field=field,
            value=text,
            code="invalid-ip",
        )
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        address = None
    if address is None or (isinstance(address, ipaddress.IPv6Address) and address.scope_id):
        raise InputError(
            N_("invalid IP address \"{value}\" in {field}: write an IPv4 address such as 203.0.113.10 or an IPv6 address such as 2001:db8::10, without a port or a prefix length"),
            field=field,
            value=text,
            code="invalid-ip",
        )
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # Written out here because Python 3.13 changed how str() shows these addresses.
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def _is_ip(text: str) -> bool:
    # Most hosts are names: skip the costly parse unless the text could be an address.
    if ":" not in text and not _IPV4_CHARACTERS.fullmatch(text):
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=65536)
def _domain_to_ascii(text: str) -> str | None:
    """Return the A-label form of ``text``, or ``None`` when IDNA 2008 rejects it."""
    lowered = text.lower()
    if lowered.isascii() and "xn--" not in lowered:
        labels = lowered.split(".")
        if all(_LDH_LABEL.fullmatch(label) for label in labels):
            return lowered
        return None
    try:
        return idna.encode(text, uts46=True, std3_rules=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None


def normalize_domain(value: object, *, field: str = "facts.domain") -> str:
    """Return the domain name in ``value`` as lower-case A-labels (``xn--80ao21a`` for ``қаз``).

    Unicode names are mapped with UTS 46 and encoded with IDNA 2008; one
    trailing dot is dropped. The name needs at least two labels and a
    top-level domain that is not all digits. A URL, an IP address and a
    name with ``_`` or spaces are rejected with a hint.
    """
    text = _text(value, field)
    if "://" in text or "/" in text:
        raise InputError(
            N_("{field} \"{value}\" is a URL, not a domain name: put it in url and write only the host, such as example.kz, in domain"),
            field=field,
            value=text,
            code="invalid-domain",
        )
    if _is_ip(text.strip("[]")):
        raise InputError(
            N_("{field} \"{value}\" is an IP address, not a domain name: put it in ip"),
            field=field,
            value=text,
            code="invalid-domain",
        )
    name = text[:-1] if text.endswith(".") else text
    ascii_name = _domain_to_ascii(name)
    if ascii_name is None:
        raise InputError(
            N_("invalid domain name \"{value}\" in {field}: write a name such as example.kz or пример.қаз, made of letters, digits and hyphens between dots, without a scheme, path or port"),
            field=field,
            value=text,
            code="invalid-domain",
        )
    labels = ascii_name.split(".")
    if len(ascii_name) > _MAX_DOMAIN_LENGTH or any(len(label) > 63 for label in labels):
        raise InputError(
            N_("domain name \"{value}\" in {field} is too long: a name has at most 253 characters and each label between dots at most 63"),
            field=field,
            value=text,
            code="invalid-domain",
        )
    if len(labels) < 2 or labels[-1].isdigit():
        raise InputError(
            N_("domain name \"{value}\" in {field} has no top-level domain: write the full name, such as example.kz"),
            field=field,
            value=text,
            code="invalid-domain",
        )
    return ascii_name


def domain_to_unicode(domain: str) -> str:
    """Return the Unicode (U-label) form of an A-label domain name, or ``domain`` unchanged when it does not decode."""
    try:
        return idna.decode(domain)
    except (idna.IDNAError, UnicodeError):
        return domain


def _invalid_url(text: str, field: str) -> InputError:
    return InputError(
        N_("invalid URL \"{value}\" in {field}: write a full address with the scheme and host, such as https://example.kz/page"),
        field=field,
        value=text,
        code="invalid-url",
    )


def normalize_url(value: object, *, field: str = "facts.url") -> str:
    """Return the URL in ``value`` with a lower-case scheme, the host as A-labels or a canonical IP, and UTF-8 percent-encoding.

    A scheme and a host are required (``example.kz/page`` is rejected with
    the ``https://`` fix). User information, an empty or out-of-range port,
    spaces and control characters are rejected. Existing ``%XX`` escapes
    are kept as they are.
    """
    text = _text(value, field)
    if _URL_FORBIDDEN.search(text):
        raise _invalid_url(text, field)
    scheme, separator, _rest = text.partition("://")
    if not separator or not _SCHEME.fullmatch(scheme):
        raise InputError(
            N_("URL \"{value}\" in {field} has no scheme: write it with the scheme, such as https://{value}"),
            field=field,
            value=text,
            code="invalid-url",
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise _invalid_url(text, field) from exc
    netloc = parts.netloc
    if "@" in netloc or netloc.endswith(":") or not parts.hostname:
        raise _invalid_url(text, field)
    if port == 0:
        raise _invalid_url(text, field)
    host_text = netloc.rsplit(":", 1)[0] if parts.port is not None else netloc
    if host_text.startswith("["):
        host = "[" + normalize_ip(host_text, field=field) + "]"
        if ":" not in host:
            raise _invalid_url(text, field)
    elif _is_ip(host_text):
        host = normalize_ip(host_text, field=field)
    else:
        try:
            host = normalize_domain(host_text, field=field)
        except InputError as exc:
            raise InputError(
                N_("URL \"{value}\" in {field} has an invalid host: write a domain name such as example.kz or пример.қаз, or an IP address"),
                field=field,
                value=text,
                code="invalid-url",
            ) from exc
    new_netloc = host if port is None else f"{host}:{port}"
    path = quote(parts.path, safe=_URL_SAFE)
    query = quote(parts.query, safe=_URL_SAFE)
    fragment = quote(parts.fragment, safe=_URL_SAFE)
    url = urlunsplit((parts.scheme.lower(), new_netloc, path, query, fragment))
    # Percent-encoding makes a non-ASCII URL up to nine times longer than typed.
    _check_length(url, field)
    return url


def url_host(url: str) -> str:
    """Return the host of a normalised URL: A-label domain or IP address without brackets."""
    return urlsplit(url).hostname or ""


def normalize_mac(value: object, *, field: str = "facts.mac") -> str:
    """Return the MAC address in ``value`` as six upper-case hex pairs joined by ``-``."""
    text = _text(value, field)
    for pattern in _MAC_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            digits = "".join(group for group in match.groups() if group not in (":", "-")).upper()
            return "-".join(digits[i : i + 2] for i in range(0, 12, 2))
    raise InputError(
        N_("invalid MAC address \"{value}\" in {field}: write six pairs of hexadecimal digits, such as AA-BB-CC-DD-EE-FF, aa:bb:cc:dd:ee:ff, aabb.ccdd.eeff or aabbccddeeff"),
        field=field,
        value=text,
        code="invalid-mac",
    )


def luhn_valid(digits: str) -> bool:
    """Return whether the last digit of ``digits`` is its Luhn check digit."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def normalize_imei(value: object, *, field: str = "facts.imei") -> str:
    """Return the 15-digit IMEI in ``value`` with spaces, dashes and slashes removed.

    The Luhn check digit must be valid; 14 digits (no check digit) and 16
    digits (IMEISV) are rejected with their own hints.
    """
    text = _text(value, field)
    digits = re.sub(r"[\s\-/]", "", text)
    all_digits = digits.isascii() and digits.isdigit()
    if all_digits and len(digits) == 14:
        raise InputError(
            N_("IMEI \"{value}\" in {field} has 14 digits, without the check digit: write all 15 digits as the device shows them (dial *#06#)"),
            field=field,
            value=text,
            code="invalid-imei",
        )
    if all_digits and len(digits) == 16:
        raise InputError(
            N_("{field} \"{value}\" has 16 digits, which is an IMEISV: write the 15-digit IMEI that the device shows (dial *#06#)"),
            field=field,
            value=text,
            code="invalid-imei",
        )
    if not all_digits or len(digits) != 15:
        raise InputError(
            N_("invalid IMEI \"{value}\" in {field}: an IMEI has 15 digits; copy all 15 digits as the device shows them (dial *#06#)"),
            field=field,
            value=text,
            code="invalid-imei",
        )
    if not luhn_valid(digits):
        raise InputError(
            N_("IMEI \"{value}\" in {field} fails the Luhn check digit: check the digits for a typing error"),
            field=field,
            value=text,
            code="invalid-imei",
        )
    return digits


_FACT_NORMALIZERS = (
    ("ip", normalize_ip),
    ("domain", normalize_domain),
    ("url", normalize_url),
    ("mac", normalize_mac),
    ("imei", normalize_imei),
)


# --- IIN and BIN ---------------------------------------------------------------------------


def check_digit(digits: str) -> int | None:
    """Return the check digit of the first 11 digits of an IIN or BIN, or ``None`` when no digit is valid.

    The weights are 1..11; when the sum modulo 11 is 10 the weights
    3..11, 1, 2 are used instead, and a second 10 means the number cannot
    have a valid check digit.
    """
    body = [int(char) for char in digits[:11]]
    first = sum(weight * digit for weight, digit in zip(range(1, 12), body)) % 11
    if first != 10:
        return first
    second_weights = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
    second = sum(weight * digit for weight, digit in zip(second_weights, body)) % 11
    return None if second == 10 else second


def _twelve_digits(value: object, field: str, message: str, code: str) -> str:
    text = _text(value, field)
    digits = re.sub(r"\s", "", text)
    if len(digits) != 12 or not digits.isascii() or not digits.isdigit():
        raise InputError(message, field=field, value=mask_personal(field, text), code=code)
    return digits


def validate_iin(value: object, *, field: str = "signatory.iin") -> str:
    """Return the 12-digit IIN in ``value`` after checking its date of birth, century digit and check digit."""
    digits = _twelve_digits(value, field, N_("invalid IIN \"{value}\" in {field}: an IIN has 12 digits"), "invalid-iin")
    century = _IIN_CENTURIES.get(digits[6])
    if century is None:
        raise InputError(
            N_("IIN \"{value}\" in {field} has an invalid 7th digit {digit}: it is 1 to 6, the century of birth and sex"),
            field=field,
            value=_mask_iin(digits),
            digit=digits[6],
            code="invalid-iin",
        )
    try:
        birth = dt.date(century + int(digits[0:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        birth = None
    if birth is None or birth > dt.date.today():
        raise InputError(
            N_("IIN \"{value}\" in {field} has an invalid date of birth {digits}: the first six digits are the date of birth as YYMMDD"),
            field=field,
            value=_mask_iin(digits),
            digits=digits[0:6],
            code="invalid-iin",
        )
    if check_digit(digits) != int(digits[11]):
        raise InputError(
            N_("IIN \"{value}\" in {field} fails the check digit: check the digits for a typing error"),
            field=field,
            value=_mask_iin(digits),
            code="invalid-iin",
        )
    return digits


def validate_bin(value: object, *, field: str = "sender.bin") -> str:
    """Return the 12-digit BIN in ``value`` after checking its registration month, type and attribute digits and check digit."""
    digits = _twelve_digits(value, field, N_("invalid BIN \"{value}\" in {field}: a BIN has 12 digits"), "invalid-bin")
    if not 1 <= int(digits[2:4]) <= 12:
        raise InputError(
            N_("BIN \"{value}\" in {field} has an invalid registration month {month}: the first four digits are the year and month of registration as YYMM"),
            field=field,
            value=digits,
            month=digits[2:4],
            code="invalid-bin",
        )
    if digits[4] not in _BIN_TYPES:
        raise InputError(
            N_("BIN \"{value}\" in {field} has an invalid 5th digit {digit}: it is 4 (resident legal entity), 5 (non-resident legal entity) or 6 (joint individual entrepreneurship)"),
            field=field,
            value=digits,
            digit=digits[4],
            code="invalid-bin",
        )
    if digits[5] not in _BIN_ATTRIBUTES:
        raise InputError(
            N_("BIN \"{value}\" in {field} has an invalid 6th digit {digit}: it is 0 (head office), 1 (branch), 2 (representative office) or 3 (peasant farm)"),
            field=field,
            value=digits,
            digit=digits[5],
            code="invalid-bin",
        )
    if check_digit(digits) != int(digits[11]):
        raise InputError(
            N_("BIN \"{value}\" in {field} fails the check digit: check the digits for a typing error"),
            field=field,
            value=digits,
            code="invalid-bin",
        )
    return digits


# --- roster contacts -----------------------------------------------------------------------


def normalize_email(value: object, *, field: str = "employees.work_email") -> str:
    """Return the e-mail address in ``value`` with its domain as lower-case A-labels.

    The local part is an RFC 5322 dot-atom of ASCII characters, at most 64
    characters, kept as typed; the domain may be internationalised.
    """
    text = _text(value, field)
    local, at, domain = text.rpartition("@")
    error = InputError(
        N_("invalid e-mail address \"{value}\" in {field}: write an address such as a.nurlanov@example.gov.kz"),
        field=field,
        value=_mask_email(text),
        code="invalid-email",
    )
    if not at or not local or len(local) > 64 or not _EMAIL_LOCAL.fullmatch(local):
        raise error
    try:
        ascii_domain = normalize_domain(domain, field=field)
    except InputError:
        raise error from None
    address = f"{local}@{ascii_domain}"
    _check_length(address, field)
    return address


def normalize_phone(value: object, *, field: str = "employees.mobile_phone") -> str:
    """Return the Kazakh mobile number in ``value`` as ``+7 7XX XXX XX XX``.

    Accepted forms: ``+7 701 234 56 78``, ``8 701 234 56 78``,
    ``+7 (701) 234-56-78``, ``87012345678``, ``77012345678`` and the ten
    national digits ``7012345678``. Geographic and service numbers (codes
    other than 70x, 747 and 77x) are rejected.
    """
    text = _text(value, field)
    compact = _PHONE_DECORATION.sub("", text)
    if compact.startswith("+7"):
        national = compact[2:]
    elif len(compact) == 11 and compact[0] in "78":
        national = compact[1:]
    else:
        national = compact
    if len(national) != 10 or not national.isascii() or not national.isdigit():
        raise InputError(
            N_("invalid mobile number \"{value}\" in {field}: write a Kazakh mobile number such as +7 701 234 56 78 or 8 701 234 56 78"),
            field=field,
            value=_mask_phone(text),
            code="invalid-phone",
        )
    if national[:3] not in MOBILE_CODES:
        raise InputError(
            N_("{field} \"{value}\" is not a Kazakh mobile number: mobile numbers start with +7 70x, +7 747 or +7 77x; write the employee's mobile number"),
            field=field,
            value=_mask_phone(text),
            code="invalid-phone",
        )
    return f"+7 {national[0:3]} {national[3:6]} {national[6:8]} {national[8:10]}"


# --- code lists and roles ------------------------------------------------------------------


def _code_lookup(entries: Mapping[str, codelists.CodeListEntry], text: str) -> str | None:
    folded = text.casefold()
    for code, entry in entries.items():
        if folded in (code.casefold(), entry.kk.casefold(), entry.ru.casefold(), entry.en.casefold()):
            return code
    return None


def normalize_protocol(value: object, *, field: str = "facts.protocol") -> str:
    """Return the protocol code of ``value``: a code or a name of the code list, in any letter case."""
    text = _text(value, field)
    code = _code_lookup(codelists.PROTOCOLS, text)
    if code is None:
        raise InputError(
            N_("unknown protocol \"{value}\" in {field}: use one of {valid}"),
            field=field,
            value=text,
            valid=", ".join(codelists.PROTOCOLS),
            code="unknown-protocol",
        )
    return code


def normalize_violation_type(
    value: object,
    *,
    types: Mapping[str, codelists.CodeListEntry] | None = None,
    field: str = "violation.type",
) -> str:
    """Return the violation type code of ``value``: a code or a kk, ru or en name of ``types``, in any letter case."""
    text = _text(value, field)
    entries = codelists.VIOLATION_TYPES if types is None else types
    code = _code_lookup(entries, text)
    if code is None:
        raise InputError(
            N_("unknown violation type \"{value}\" in {field}: use one of {valid}; for any other type write other and describe it in violation.description"),
            field=field,
            value=text,
            valid=", ".join(entries),
            code="unknown-violation-type",
        )
    return code


def normalize_role(value: object, *, roles: tuple[SignatoryRole, ...] = NOTIFICATION_ROLES, field: str = "signatory.role") -> SignatoryRole:
    """Return the signatory role of ``value`` when it is one of ``roles``."""
    text = _text(value, field)
    try:
        role = SignatoryRole(text.lower())
    except ValueError:
        role = None
    if role is None or role not in roles:
        if roles == NOTIFICATION_ROLES and role is not None:
            raise InputError(
                N_("signatory role \"{value}\" cannot sign a notification: it is signed by the first head (head) or a deputy (deputy)"),
                field=field,
                value=text,
                code="invalid-role",
            )
        raise InputError(
            N_("unknown signatory role \"{value}\" in {field}: use one of {valid}"),
            field=field,
            value=text,
            valid=", ".join(roles),
            code="invalid-role",
        )
    return role


def normalize_language(value: object, *, field: str = "document.language") -> Language:
    """Return the document language of ``value``: ``kk`` (Kazakh) or ``ru`` (Russian)."""
    text = _text(value, field)
    try:
        return Language(text.lower())
    except ValueError:
        raise InputError(
            N_("invalid document language \"{value}\" in {field}: use kk (Kazakh) or ru (Russian)"),
            field=field,
            value=text,
            code="invalid-language",
        ) from None


def resolve_edition(day: dt.date, edition: str | None, first_edition_start: dt.date) -> str:
    """Return the rules edition of a document dated ``day``: ``edition`` when it is in force then, else the one in force."""
    in_force = editions.edition_for_date(day, first_edition_start)
    if edition is None or edition == in_force.id:
        return in_force.id
    editions.edition_by_id(edition, first_edition_start)
    raise InputError(
        N_("rules edition {value} is not in force on the document date {date}: use {expected}, or leave document.edition out to choose it from the date"),
        field="document.edition",
        value=edition,
        date=day.isoformat(),
        expected=in_force.id,
        code="edition-not-in-force",
    )


# --- facts ---------------------------------------------------------------------------------


_INVALID = object()


def normalize_fact_fields(raw: Mapping[str, object], number: int) -> tuple[Fact | None, list[InputError]]:
    """Build fact ``number`` from typed ``raw`` values, normalising each field.

    Returns the fact, or ``None`` when a field is invalid, and every error
    found, including the cross-field checks of :func:`fact_errors`.
    """
    errors: list[InputError] = []
    values: dict[str, Any] = {}
    for key, normalize in _FACT_NORMALIZERS:
        item = raw.get(key)
        if item is None or (isinstance(item, str) and not item.strip()):
            values[key] = None
            continue
        try:
            values[key] = normalize(item, field=f"facts.{key}")
        except InputError as exc:
            errors.append(exc)
            values[key] = _INVALID
    try:
        values["protocol"] = normalize_protocol(raw.get("protocol"), field="facts.protocol")
    except InputError as exc:
        errors.append(exc)
    description = raw.get("description")
    values["description"] = None
    if description is not None and not (isinstance(description, str) and not description.strip()):
        try:
            values["description"] = _text(description, "facts.description")
        except InputError as exc:
            errors.append(exc)
    if errors:
        if values["ip"] is None and values["domain"] is None and values["url"] is None:
            errors.append(_no_resource_error())
        return None, errors
    fact = Fact(number=number, **values)
    errors.extend(fact_errors(fact))
    return fact, errors


def _no_resource_error() -> InputError:
    return InputError(
        N_("the fact has no IP address, domain name or URL: give at least one of ip, domain and url"),
        field="facts",
        code="no-resource",
    )


def fact_errors(fact: Fact) -> list[InputError]:
    """Return the cross-field errors of a fact: no resource, URL host versus domain and IP address."""
    if fact.ip is None and fact.domain is None and fact.url is None:
        return [_no_resource_error()]
    errors: list[InputError] = []
    if fact.url is None:
        return errors
    host = url_host(fact.url)
    if not host:
        return errors
    if _is_ip(host):
        address = normalize_ip(host)
        if fact.ip is not None and fact.ip != address:
            errors.append(
                InputError(
                    N_("the URL host {host} differs from the IP address {value} in {field}: correct one of them, or list them as two facts"),
                    field="facts.ip",
                    value=fact.ip,
                    host=address,
                    code="url-host-mismatch",
                )
            )
        if fact.domain is not None:
            errors.append(_domain_mismatch(fact.domain, address))
    elif fact.domain is not None and not (host == fact.domain or host.endswith("." + fact.domain)):
        errors.append(_domain_mismatch(fact.domain, host))
    return errors


def _domain_mismatch(domain: str, host: str) -> InputError:
    return InputError(
        N_("the URL host {host} is neither the domain {value} in {field} nor a subdomain of it: correct the domain or the URL, or list them as two facts"),
        field="facts.domain",
        value=domain_to_unicode(domain),
        host=domain_to_unicode(host),
        code="url-host-mismatch",
    )


class DuplicateFacts:
    """Finder of repeated facts: the same IP address, domain name, URL and protocol after normalisation."""

    def __init__(self) -> None:
        self._first: dict[tuple[str | None, ...], int] = {}

    def check(self, fact: Fact) -> InputError | None:
        """Record ``fact`` and return an error when an earlier fact has the same key."""
        key = (fact.ip, fact.domain, fact.url, fact.protocol)
        first = self._first.setdefault(key, fact.number)
        if first == fact.number:
            return None
        return InputError(
            N_("the fact repeats fact {first}: the same IP address, domain name, URL and protocol; remove one of the two"),
            field="facts",
            first=first,
            code="duplicate-fact",
        )


def located(error: InputError, location: str, **params: Any) -> Problem:
    """Return ``error`` as a :class:`Problem` at ``location``, a message id filled from ``params``."""
    problem = error.as_problem()
    return dataclasses.replace(problem, location=location, params={**problem.params, **params})


# --- documents -----------------------------------------------------------------------------


class _Collector:
    """Problems of one document, collected instead of raised."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def run(self, function: Any, *args: Any, location: str | None = None, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except InputError as exc:
            self.add(exc, location, params)
            return None

    def add(self, error: InputError, location: str | None = None, params: Mapping[str, Any] | None = None) -> None:
        if location is None:
            self.problems.append(error.as_problem())
        else:
            self.problems.append(located(error, location, **(params or {})))

    def canonical(self, normalize: Any, value: object, field: str, *, location: str | None = None, params: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Check that ``value`` is valid and already in the form ``normalize`` returns."""
        result = self.run(normalize, value, field=field, location=location, params=params, **kwargs)
        if result is not None and result != value:
            error = InputError(
                N_("{field} \"{value}\" is not in canonical form: write {expected}"),
                field=field,
                value=mask_personal(field, value),
                expected=mask_personal(field, result),
                code="not-canonical",
            )
            self.add(error, location, params)


def _settings(config: Config | None) -> tuple[dt.date, Mapping[str, codelists.CodeListEntry]]:
    config = config or Config()
    documents = config.documents
    extra = config.resolve_path(documents.violation_types_file) if documents.violation_types_file else None
    return documents.first_edition_start, codelists.load_violation_types(extra)


def _check_header(collector: _Collector, document: Notification | Roster, first_edition_start: dt.date) -> None:
    header = document.header
    collector.run(require_text, header.number, "document.number")
    collector.run(resolve_edition, header.date, header.edition, first_edition_start)
    collector.run(normalize_language, str(header.language), field="document.language")
    collector.run(require_text, header.sender.name_kk, "sender.name_kk")
    collector.run(require_text, header.sender.name_ru, "sender.name_ru")
    collector.canonical(validate_bin, header.sender.bin, "sender.bin")
    collector.run(require_text, header.recipient.name_kk, "recipient.name_kk")
    collector.run(require_text, header.recipient.name_ru, "recipient.name_ru")
    if header.recipient.bin is not None:
        collector.canonical(validate_bin, header.recipient.bin, "recipient.bin")


def _check_signatory(collector: _Collector, document: Notification | Roster, roles: tuple[SignatoryRole, ...]) -> None:
    signatory = document.signatory
    collector.run(require_text, signatory.position, "signatory.position")
    collector.run(require_text, signatory.full_name, "signatory.full_name")
    collector.canonical(validate_iin, signatory.iin, "signatory.iin")
    collector.run(normalize_role, str(signatory.role), roles=roles)


def check_violation(code: str | None, description: str | None) -> list[InputError]:
    """Return an error when the violation type ``other`` lacks its description.

    ``code`` is the normalised type code, or ``None`` when the type itself was invalid.
    """
    if code == codelists.OTHER and not (description or "").strip():
        return [
            InputError(
                N_("violation type other needs a description: name the type of violation in violation.description"),
                field="violation.description",
                code="missing",
            )
        ]
    return []


def check_evidence(evidence: Iterable[Evidence], fact_count: int, *, require_any: bool = True) -> list[tuple[int, InputError]]:
    """Return the errors of the evidence list with the number of the evidence each concerns (0 for the whole list).

    With ``require_any`` an empty list is an error, because the rules
    require screenshots of the materials that prove the violation.
    """
    errors: list[tuple[int, InputError]] = []
    names: dict[str, int] = {}
    count = 0
    for item in evidence:
        count += 1
        name = item.file_name
        if not name or "/" in name or "\\" in name or name.startswith("."):
            errors.append((item.number, InputError(
                N_("evidence file name \"{value}\" is not a plain file name: give the name without folders, not starting with a dot"),
                field="evidence.file_name",
                value=name,
                code="invalid-evidence",
            )))
        first = names.setdefault(name.casefold(), item.number)
        if first != item.number:
            errors.append((item.number, InputError(
                N_("evidence file name \"{value}\" is used by evidence {first} too: rename one of the files, because the files travel beside the document by name"),
                field="evidence.path",
                value=name,
                first=first,
                code="duplicate-evidence",
            )))
        if item.media_type not in EVIDENCE_MEDIA_TYPES:
            errors.append((item.number, _unsupported_evidence(name)))
        if item.size <= 0:
            errors.append((item.number, InputError(
                N_("evidence file \"{value}\" is empty: attach the screenshot or document itself"),
                field="evidence.path",
                value=name,
                code="invalid-evidence",
            )))
        if not _SHA256.fullmatch(item.sha256):
            errors.append((item.number, InputError(
                N_("{field} \"{value}\" is not a SHA-256 digest: write 64 lower-case hexadecimal digits"),
                field="evidence.sha256",
                value=item.sha256,
                code="invalid-evidence",
            )))
        if item.fact is not None and not 1 <= item.fact <= fact_count:
            errors.append((item.number, InputError(
                N_("evidence refers to fact {value}, which does not exist: use a fact number from 1 to {count}"),
                field="evidence.fact",
                value=item.fact,
                count=fact_count,
                code="invalid-evidence",
            )))
    if count == 0 and require_any:
        errors.append((0, InputError(
            N_("the notification has no evidence: the rules require screenshots of the materials that prove the violation; add at least one [[evidence]] file"),
            field="evidence",
            code="no-evidence",
        )))
    return errors


def _unsupported_evidence(name: str) -> InputError:
    return InputError(
        N_("evidence file \"{value}\" is not a PNG, JPEG or PDF file: attach screenshots as PNG or JPEG, and documents as PDF"),
        field="evidence.path",
        value=name,
        code="invalid-evidence",
    )


def _numbering_error(number: int, expected: int, field: str) -> InputError:
    return InputError(
        N_("{field} number {value} is out of order: number them 1, 2, 3 and so on; {expected} was expected here"),
        field=field,
        value=number,
        expected=expected,
        code="bad-numbering",
    )


def validate_notification(notification: Notification, *, config: Config | None = None) -> tuple[Problem, ...]:
    """Return every problem of a notification built in code.

    The header needs a number, an edition in force on the date, a language,
    names and valid BINs. Each fact needs valid fields in canonical form and
    at least one of IP address, domain and URL. Its URL host must agree with
    its domain and IP address, and it must not repeat an earlier fact. The
    violation item, the evidence list and the signatory (IIN, role head or
    deputy) are checked too. ``config`` gives
    ``documents.first_edition_start`` and the violation type list.
    """
    first_edition_start, types = _settings(config)
    collector = _Collector()
    _check_header(collector, notification, first_edition_start)
    violation = notification.violation
    collector.canonical(normalize_violation_type, violation.type, "violation.type", types=types)
    collector.run(require_text, violation.legal_norm, "violation.legal_norm")
    for error in check_violation(violation.type, violation.description):
        collector.add(error)
    if not notification.facts:
        collector.add(InputError(
            N_("the notification has no facts: add at least one [[facts]] table or a facts file"),
            field="facts",
            code="no-facts",
        ))
    duplicates = DuplicateFacts()
    for expected, fact in enumerate(notification.facts, start=1):
        params = {"fact": fact.number}
        if fact.number != expected:
            collector.add(_numbering_error(fact.number, expected, "facts"), FACT_LOCATION, params)
        for key, normalize in _FACT_NORMALIZERS:
            value = getattr(fact, key)
            if value is not None:
                collector.canonical(normalize, value, f"facts.{key}", location=FACT_LOCATION, params=params)
        collector.canonical(normalize_protocol, fact.protocol, "facts.protocol", location=FACT_LOCATION, params=params)
        for error in fact_errors(fact):
            collector.add(error, FACT_LOCATION, params)
        duplicate = duplicates.check(fact)
        if duplicate is not None:
            collector.add(duplicate, FACT_LOCATION, params)
    for number, error in check_evidence(notification.evidence, len(notification.facts)):
        collector.add(error, EVIDENCE_LOCATION if number else None, {"evidence": number})
    for expected, item in enumerate(notification.evidence, start=1):
        if item.number != expected:
            collector.add(_numbering_error(item.number, expected, "evidence"), EVIDENCE_LOCATION, {"evidence": item.number})
    _check_signatory(collector, notification, NOTIFICATION_ROLES)
    return tuple(collector.problems)


def employee_name_error(full_name: str | None) -> InputError | None:
    """Return an error unless ``full_name`` has at least a surname and a first name."""
    try:
        text = _text(full_name, "employees.full_name")
    except InputError as exc:
        return exc
    if len(text.split()) < 2:
        # The name itself is left out of the message: it is personal data.
        return InputError(
            N_("{field} needs at least the surname and the first name, and the patronymic if there is one"),
            field="employees.full_name",
            code="invalid-name",
        )
    return None


class DuplicateEmployees:
    """Finder of roster rows that repeat another row's work e-mail or mobile number."""

    def __init__(self) -> None:
        self._emails: dict[str, int] = {}
        self._phones: dict[str, int] = {}

    def check(self, number: int, email: str | None, phone: str | None) -> list[InputError]:
        """Record row ``number`` and return an error for each contact an earlier row already has."""
        errors: list[InputError] = []
        # The repeated values are left out of the messages: they are another person's data.
        if email is not None:
            first = self._emails.setdefault(email.casefold(), number)
            if first != number:
                errors.append(InputError(
                    N_("the work e-mail repeats that of employee {first}: give each employee their own address"),
                    field="employees.work_email",
                    first=first,
                    code="duplicate-employee",
                ))
        if phone is not None:
            first = self._phones.setdefault(phone, number)
            if first != number:
                errors.append(InputError(
                    N_("the mobile number repeats that of employee {first}: give each employee their own number"),
                    field="employees.mobile_phone",
                    first=first,
                    code="duplicate-employee",
                ))
        return errors


def validate_roster(roster: Roster, *, config: Config | None = None) -> tuple[Problem, ...]:
    """Return every problem of a roster built in code.

    Checks the header, every employee (full name, work e-mail and mobile
    number valid and canonical, no repeated e-mail or number, numbering) and
    the signatory (IIN, role head, deputy or employee).
    """
    first_edition_start, _types = _settings(config)
    collector = _Collector()
    _check_header(collector, roster, first_edition_start)
    if not roster.employees:
        collector.add(InputError(
            N_("the roster lists no employees: add at least one [[employees]] table"),
            field="employees",
            code="no-employees",
        ))
    duplicates = DuplicateEmployees()
    for expected, employee in enumerate(roster.employees, start=1):
        params = {"employee": employee.number}
        if employee.number != expected:
            collector.add(_numbering_error(employee.number, expected, "employees"), EMPLOYEE_LOCATION, params)
        name_error = employee_name_error(employee.full_name)
        if name_error is not None:
            collector.add(name_error, EMPLOYEE_LOCATION, params)
        collector.canonical(normalize_email, employee.work_email, "employees.work_email", location=EMPLOYEE_LOCATION, params=params)
        collector.canonical(normalize_phone, employee.mobile_phone, "employees.mobile_phone", location=EMPLOYEE_LOCATION, params=params)
        for error in duplicates.check(employee.number, employee.work_email, employee.mobile_phone):
            collector.add(error, EMPLOYEE_LOCATION, params)
    _check_signatory(collector, roster, ROSTER_ROLES)
    return tuple(collector.problems)


def check_notification(notification: Notification, *, config: Config | None = None) -> None:
    """Raise :class:`InvalidDocumentError` listing every problem of ``notification``, if any."""
    problems = validate_notification(notification, config=config)
    if problems:
        raise InvalidDocumentError(problems, source=notification.header.number)


def check_roster(roster: Roster, *, config: Config | None = None) -> None:
    """Raise :class:`InvalidDocumentError` listing every problem of ``roster``, if any."""
    problems = validate_roster(roster, config=config)
    if problems:
        raise InvalidDocumentError(problems, source=roster.header.number)

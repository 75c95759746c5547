"""Exceptions of edms-adapter.

Every exception the library raises on purpose derives from
:class:`EdmsAdapterError`; each subclass also inherits the builtin it is a
kind of, so ``except ValueError`` keeps working for callers who know only
that. Messages are gettext message ids rendered in the caller's language when
the exception is turned into text, so one exception reads in Kazakh, Russian
or English. Context travels as attributes, never only inside the text::

    EdmsAdapterError
    ├── ConfigError (ValueError)            bad or missing configuration
    ├── InputError (ValueError)             one bad value a person or a file gave
    ├── InvalidDocumentError (ValueError)   a document with one or more problems
    │   └── DocumentTooLargeError
    ├── SigningError                        key loading and signing
    │   ├── KeyLoadError                    container cannot be opened
    │   ├── UnsupportedKeyError             e.g. a GOST key in an RSA/EC build
    │   ├── KeyUsageError                   e.g. an authentication key used to sign
    │   └── SignatoryPolicyError            signer is not head or deputy, BIN/IIN mismatch
    ├── VerificationError                   a signature that cannot be checked at all
    ├── TransportError (ConnectionError)    HTTP/SOAP exchange failed
    │   ├── TransientTransportError         worth retrying with the same message id
    │   └── GatewayFault                    SOAP fault or gateway ErrorInfo
    │       └── TransientGatewayFault       a fault code configured as transient (also a TransientTransportError)
    ├── StoreError                          tracking database
    │   └── NotFoundError (LookupError)     no such document, message or receipt
    └── RenderError (RuntimeError)          HTML or PDF rendering failed, e.g. Pango is missing
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import dataclasses
from dataclasses import dataclass
from typing import Any

from .i18n import N_, gettext, translate, use_language

__all__ = [
    "ConfigError",
    "DocumentTooLargeError",
    "EdmsAdapterError",
    "GatewayFault",
    "InputError",
    "InvalidDocumentError",
    "KeyLoadError",
    "KeyUsageError",
    "NotFoundError",
    "Problem",
    "RenderError",
    "SignatoryPolicyError",
    "SigningError",
    "StoreError",
    "TransientGatewayFault",
    "TransientTransportError",
    "TransportError",
    "UnsupportedKeyError",
    "VerificationError",
]


class EdmsAdapterError(Exception):
    """Root of the exceptions of edms-adapter.

    ``message`` is a gettext message id with ``{name}`` placeholders and
    ``params`` fills them; both stay available for callers that render the
    error themselves. ``str(error)`` renders it in the current language.
    """

    def __init__(self, message: str, /, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params: dict[str, Any] = params

    def localized(self, language: str | None = None) -> str:
        """Render the message in ``language`` (default: the current language)."""
        return translate(self.message, language, **self.params)

    def __str__(self) -> str:
        return self.localized()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, {self.params!r})"


class ConfigError(EdmsAdapterError, ValueError):
    """Invalid or missing configuration; ``key`` names the setting when known."""

    def __init__(self, message: str, /, *, key: str | None = None, **params: Any) -> None:
        super().__init__(message, key=key, **params)
        self.key = key


def localize_location(location: str, language: str | None, params: Mapping[str, Any]) -> str:
    """Render a location that is a message id with placeholders, such as ``N_("fact {fact}")``.

    A location that is no message id (an XPath, a line number) is returned
    unchanged, also when it contains braces.
    """
    try:
        return gettext(location, language).format(**params)
    except (KeyError, IndexError, ValueError, AttributeError):
        return location


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in an input or a document.

    ``field`` is the dotted name of the field (``facts.ip``), ``value`` the
    offending value as given, ``location`` where it was found (``fact 12``,
    ``facts.csv row 7 column ip``, ``/n:notification/n:facts[1]`` or a line
    number). ``message`` is a gettext message id filled from ``params``.
    """

    code: str
    message: str
    field: str | None = None
    value: str | None = None
    location: str | None = None
    line: int | None = None
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def localized(self, language: str | None = None) -> str:
        """Render the problem as one line in ``language``."""
        if language is not None:
            # Parameters that render themselves in the current language
            # (such as schema documentation) need ``language`` in force.
            with use_language(language):
                return self.localized()
        params = dict(self.params)
        params.setdefault("field", self.field)
        params.setdefault("value", self.value)
        text = translate(self.message, language, **params)
        if self.location:
            return f"{localize_location(self.location, language, params)}: {text}"
        if self.line is not None:
            return translate(N_("line {line}"), language, line=self.line) + f": {text}"
        return text


class InputError(EdmsAdapterError, ValueError):
    """One bad input value; the message names the field, the value and the fix."""

    def __init__(
        self,
        message: str,
        /,
        *,
        field: str | None = None,
        value: object = None,
        location: str | None = None,
        code: str = "invalid-value",
        **params: Any,
    ) -> None:
        super().__init__(message, field=field, value=value, **params)
        self.field = field
        self.value = value
        self.location = location
        self.code = code

    def as_problem(self) -> Problem:
        """Return this error as a :class:`Problem`, for collecting several errors."""
        value = None if self.value is None else str(self.value)
        params = {k: v for k, v in self.params.items() if k not in ("field", "value")}
        return Problem(self.code, self.message, self.field, value, self.location, None, params)

    def localized(self, language: str | None = None) -> str:
        text = super().localized(language)
        return f"{localize_location(self.location, language, self.params)}: {text}" if self.location else text


class InvalidDocumentError(EdmsAdapterError, ValueError):
    """A document or input with one or more problems, all listed in ``problems``."""

    def __init__(self, problems: Iterable[Problem], /, *, source: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.source = source
        super().__init__(
            N_("{source}: {count} problem(s) found"),
            source=source or "-",
            count=len(self.problems),
        )

    def localized(self, language: str | None = None) -> str:
        head = super().localized(language)
        lines = [problem.localized(language) for problem in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(translate(N_("... and {count} more"), language, count=len(self.problems) - 50))
        return "\n".join([head, *("  " + line for line in lines)])


class DocumentTooLargeError(InvalidDocumentError):
    """A document larger than the configured limit; nothing of it was parsed."""

    def __init__(self, *, size: int, limit: int, source: str | None = None) -> None:
        problem = Problem(
            "too-large",
            N_("the document is {size} bytes, more than the limit of {limit} bytes; raise documents.max_xml_bytes in the configuration if the document is trusted"),
            params={"size": size, "limit": limit},
        )
        super().__init__([problem], source=source)
        self.size = size
        self.limit = limit


class SigningError(EdmsAdapterError):
    """Signing failed."""


class KeyLoadError(SigningError):
    """A key container or token could not be opened; ``source`` names it."""


class UnsupportedKeyError(SigningError):
    """A key of an algorithm this build does not sign with, such as GOST."""


class KeyUsageError(SigningError):
    """A key whose certificate does not allow the requested use."""


class SignatoryPolicyError(SigningError):
    """The signer may not sign this document; ``rule`` names the failed rule."""

    def __init__(self, message: str, /, *, rule: str, **params: Any) -> None:
        super().__init__(message, rule=rule, **params)
        self.rule = rule


class VerificationError(EdmsAdapterError):
    """A signature that could not be checked at all (no signature, malformed XML).

    A signature that was checked and found wrong is not an exception: it is a
    verification result with ``intact=False``.
    """


class TransportError(EdmsAdapterError, ConnectionError):
    """The exchange with the gateway or the receiving service failed."""


class TransientTransportError(TransportError):
    """A failure worth retrying with the same message id (connection, timeout, 5xx)."""


class GatewayFault(TransportError):
    """A SOAP fault or a gateway ``ErrorInfo``; ``code`` is the gateway's error code."""

    def __init__(self, message: str, /, *, code: str | None = None, **params: Any) -> None:
        super().__init__(message, code=code, **params)
        self.code = code


class TransientGatewayFault(GatewayFault, TransientTransportError):
    """A gateway fault whose code is configured as transient (``gateway.transient_codes``)."""


class StoreError(EdmsAdapterError):
    """The tracking database failed or contains something unexpected."""


class NotFoundError(StoreError, LookupError):
    """No document, message or receipt with the given id."""


class RenderError(EdmsAdapterError, RuntimeError):
    """A form could not be rendered, for example because WeasyPrint cannot load Pango."""

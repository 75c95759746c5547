"""The authorised body's receiving service: accepts document cards and hands out signed receipts.

:class:`ReceiverService` is the channel handler behind
:class:`adapter.service.soap.SoapApplication`. SyncChannel ``SendMessage``
with a document card goes through these checks, in order, and the first that
fails ends the request with a SOAP fault whose ``ErrorInfo`` code is one of
:class:`ReceiverErrorCode`:

1. size limit and hardened parse (the SOAP layer), WS-Security signature by
   a trusted sender certificate (:meth:`ReceiverService.trust_sender`);
2. the card against ``card.xsd``, each file against its recorded SHA-256;
3. the gateway sender id against the configured BIN of that sender;
4. the document against its own schema;
5. the document's XML-DSig signature: intact, trusted, not revoked, signed by
   the sender's head or deputy (:func:`signing.verify.verify_document`);
6. the card against the signed document and the evidence files;
7. the rules edition in force on the document date.

A message id or a document already received gets the first response again
and is never registered twice. An accepted document is stored with its facts
and evidence and gets the status ``SCSS001``. A signed *delivered* receipt is
then queued for the sender, and a failed signature check queues a signed
*refused, reason 2* receipt. Senders pull receipts with AsyncChannel
``getMessages`` and acknowledge them with ``sendDeliveryNotification``, or
get them pushed (:mod:`adapter.exchange.push`).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import os
import sys
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from lxml import etree
from sqlalchemy import bindparam, insert, literal_column, select, union_all
from sqlalchemy.exc import DBAPIError

from ..config import Config
from ..editions import edition_for_date
from ..errors import ConfigError, EdmsAdapterError, GatewayFault, InputError, InvalidDocumentError, KeyLoadError, Problem, StoreError
from ..i18n import DEFAULT_LANGUAGE, N_, normalize_language, translate
from ..model import Notification
from ..store.database import Database, open_database, utc_now
from ..store.inbox import DocumentState, FactState, OutgoingReceipt, QueueState, ReceivedDocument, ReceivedEvidence, ReceivedFact, RejectedMessage
from .card import Card, check_card, parse_card
from ..transport.messages import (
    AsyncSendResult,
    Caller,
    DeliveryNotification,
    MessageInfo,
    MessageQuery,
    MessageState,
    MessageStatus,
    MessageType,
    ReceivedMessage,
    ReceiveStatus,
    RequestInfo,
    ResendMode,
    Status,
    SyncReply,
)
from .receipts import DocumentReference, Receipt, RefusalReason, receipt_message, sign_receipt

__all__ = [
    "RECEIPT_SERVICE_ID",
    "QueuedReceipt",
    "ReceiveResult",
    "ReceiverErrorCode",
    "ReceiverFault",
    "ReceiverService",
    "ReceiverSettings",
    "create_wsgi_app",
    "load_receiver_signer",
    "open_inbox",
    "queue_receipt",
    "receiver_settings",
]

logger = logging.getLogger(__name__)

#: ``serviceId`` under which receipts are offered by ``getMessages``.
RECEIPT_SERVICE_ID = "EDMS_ADAPTER_RECEIPTS"

SUCCESS_CODE = "SCSS001"


class ReceiverErrorCode(enum.StrEnum):
    """``ErrorInfo/errorCode`` values of the receiving service."""

    #: The request could not be read: too large, not XML, no card, unknown operation data.
    REQUEST = "EDMS-REQ-001"
    #: No such message for this sender (delivery notification, status).
    UNKNOWN_MESSAGE = "EDMS-REQ-002"
    #: The card does not match card.xsd, or a carried file does not match its SHA-256 or size.
    CARD_SCHEMA = "EDMS-VAL-001"
    #: The signed document does not match its schema.
    DOCUMENT_SCHEMA = "EDMS-VAL-002"
    #: The card disagrees with the signed document, or the evidence files with the notification.
    CARD_MISMATCH = "EDMS-VAL-003"
    #: The document's signature is broken, untrusted or revoked.
    SIGNATURE = "EDMS-SIG-001"
    #: The signer may not sign this document (role, BIN, IIN).
    POLICY = "EDMS-POL-001"
    #: The gateway sender is not the organisation the card names.
    SENDER = "EDMS-POL-002"
    #: The document follows a rules edition that was not in force on its date.
    EDITION = "EDMS-POL-003"
    #: The revocation status of the signer's certificate could not be established;
    #: the sender may retry with the same message id.
    REVOCATION_UNKNOWN = "EDMS-SRV-002"


class ReceiverFault(GatewayFault):
    """A request the receiving service rejects with a SOAP fault; ``code`` is a :class:`ReceiverErrorCode` value.

    ``problems`` lists what was found; the fault message shows the first ten.
    """

    def __init__(self, code: ReceiverErrorCode, message: str, /, *, problems: Sequence[Problem] = (), **params: Any) -> None:
        super().__init__(message, code=code.value, **params)
        self.error_code = code
        self.problems = tuple(problems)

    def localized(self, language: str | None = None) -> str:
        text = super().localized(language)
        details = [problem.localized(language) for problem in self.problems[:10]]
        if len(self.problems) > 10:
            details.append(translate(N_("... and {count} more"), language, count=len(self.problems) - 10))
        return "; ".join([text, *details]) if details else text


class _Transient(ReceiverFault):
    """A failure the sender may retry, so it is neither recorded nor followed by a receipt."""


@dataclass(frozen=True, slots=True)
class ReceiverSettings:
    """The ``[receiver]`` table: the authorised body's receiving service."""

    #: Key that signs receipts: a PKCS#12 file or a ``pkcs11:`` URI.
    key: str = ""
    #: Environment variable that contains the key's password.
    password_env: str = "EDMS_ADAPTER_RECEIVER_PASSWORD"
    #: File whose first line is the key's password; it takes precedence over ``password_env``.
    password_file: str = ""
    #: BIN of the authorised body, written into every receipt.
    bin: str = ""
    #: Registration number: ``{year}`` and ``{seq}`` (the yearly sequence, from 1) are filled in.
    registration_number_format: str = "{year}-{seq:06d}"
    #: Sender BIN -> certificate file (PEM or DER) of that sender's WS-Security key.
    #: When empty, a sender certificate is trusted if it chains to the [trust] anchors.
    trusted_senders: dict[str, str] = field(default_factory=dict)
    #: Gateway sender id -> BIN of the state body that sends under it.
    sender_bins: dict[str, str] = field(default_factory=dict)
    #: Language of fault messages: kk, ru or en; empty uses [general] language, then Kazakh.
    language: str = ""
    #: Database URL of the inbox; empty uses [store] url, then SQLite in the data folder.
    store_url: str = ""
    #: Participant id of the authorised body: the sender of the receipts it hands out.
    participant_id: str = "EDMS_ADAPTER_RECEIVER"
    #: Address and port of ``edms-adapter serve``.
    host: str = "127.0.0.1"
    port: int = 8090
    #: Largest signed document accepted inside a card, in bytes.
    max_document_bytes: int = 200 * 1024 * 1024
    #: Largest number of receipts one ``getMessages`` call returns.
    max_messages_per_pull: int = 100
    #: Gateway sender id -> URL of that sender's SyncChannel endpoint that takes
    #: pushed receipts (``edms-adapter serve --role sender``). Senders not listed pull.
    push_endpoints: dict[str, str] = field(default_factory=dict)


def receiver_settings(config: Config) -> ReceiverSettings:
    """Read and check the ``[receiver]`` table."""
    settings = config.section("receiver", ReceiverSettings)
    try:
        settings.registration_number_format.format(year=2026, seq=1)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            N_("invalid receiver.registration_number_format {value!r}: {reason}; use the placeholders {{year}} and {{seq}}, e.g. {{year}}-{{seq:06d}}"),
            key="receiver.registration_number_format",
            value=settings.registration_number_format,
            reason=str(exc),
        ) from exc
    if settings.language and normalize_language(settings.language) is None:
        raise ConfigError(N_("invalid receiver.language {value!r}; use kk, ru or en"), key="receiver.language", value=settings.language)
    return settings


def open_inbox(config: Config, url: str | None = None) -> Database:
    """Open the inbox database: ``url``, else ``[receiver] store_url``, else the shared database."""
    settings = config.section("receiver", ReceiverSettings)
    return open_database(url or settings.store_url or None, config=config)


def load_receiver_signer(config: Config) -> Any:
    """Load the key that signs receipts from ``[receiver] key``, with the password :func:`_receiver_password` finds."""
    from signing.keys import load_signer

    settings = config.section("receiver", ReceiverSettings)
    if not settings.key:
        raise ConfigError(
            N_("no key to sign receipts is configured; set receiver.key to a .p12 file or a pkcs11: URI"),
            key="receiver.key",
        )
    key = str(config.resolve_path(settings.key)) if not settings.key.startswith("pkcs11:") else settings.key
    return load_signer(key, password=_receiver_password(config, settings))


def _receiver_password(config: Config, settings: ReceiverSettings) -> Any:
    """Return the password source of the receipt key: ``password_file``, ``password_env``, else the terminal.

    Raises KeyLoadError when the variable is set but empty, and when neither
    setting gives a password and there is no terminal to ask on.
    """
    from signing.keys import PasswordSource

    if settings.password_file:
        return PasswordSource.from_file(config.resolve_path(settings.password_file))
    name = settings.password_env
    if name and name in os.environ:
        if not os.environ[name]:
            raise KeyLoadError(
                N_("the environment variable ${name} named by [receiver] password_env is empty; put the password of the receipt key in it"),
                name=name,
            )
        return PasswordSource.from_env(name)
    if sys.stdin is None or not sys.stdin.isatty():
        raise KeyLoadError(
            N_("no password for the receiver key: set the environment variable named by [receiver] password_env ({name}) or [receiver] password_file"),
            name=name or "-",
        )
    return PasswordSource.prompt(Path(settings.key).name if not settings.key.startswith("pkcs11:") else "token")


def load_receiver_signer_for_workers(config: Config) -> Any | None:
    """Load the receipt key before worker processes fork; return None when each worker must load its own.

    A PKCS#12 key is loaded here, so its password is asked at most once and
    the workers inherit the loaded key. A PKCS#11 session cannot cross
    ``fork()``, so for a ``pkcs11:`` key this returns None and each worker
    calls :func:`load_receiver_signer`. Raises KeyLoadError when that token's
    PIN would have to be asked on the terminal, because workers have none.
    """
    from signing.pkcs11 import parse_pkcs11_uri

    settings = config.section("receiver", ReceiverSettings)
    if not settings.key.startswith("pkcs11:"):
        return load_receiver_signer(config)
    # Parsing rejects a PIN inside the URI before the URI can reach a message.
    uri = parse_pkcs11_uri(settings.key)
    source = _receiver_password(config, settings)
    if source.kind == "prompt" and uri.pin_source is None:
        raise KeyLoadError(
            N_("worker processes cannot ask for the PIN of the receipt key {key} on the terminal; set [receiver] password_env or password_file, or run serve --workers 1"),
            key=settings.key.partition("?")[0],
        )
    return None


def queue_receipt(
    session: Any,
    receipt: Receipt,
    signer: Any,
    *,
    sender_id: str,
    document_id: int | None,
    signed_xml: bytes | None = None,
) -> OutgoingReceipt:
    """Sign ``receipt`` and add it to the outgoing queue of ``sender_id`` in ``session``.

    ``signed_xml`` is the receipt already signed by ``signer``, for a caller
    that signs before it opens the transaction.
    """
    signed = signed_xml if signed_xml is not None else sign_receipt(receipt, signer)
    row = OutgoingReceipt(**_receipt_row(receipt, signed, sender_id=sender_id, document_id=document_id))
    session.add(row)
    logger.debug("receipt %s (%s) queued for sender %s, message %s", receipt.id, receipt.kind.value, sender_id, receipt.document.message_id)
    return row


def _receipt_row(receipt: Receipt, signed_xml: bytes, *, sender_id: str, document_id: int | None) -> dict[str, Any]:
    """Return the column values of a newly queued receipt."""
    return {
        "receipt_id": receipt.id,
        "message_id": f"{{{uuid.uuid4()}}}",
        "document_id": document_id,
        "sender_id": sender_id,
        "in_reply_to": receipt.document.message_id,
        "kind": receipt.kind.value,
        "xml": signed_xml,
        "created_at": utc_now(),
        "state": QueueState.QUEUED.value,
    }


@dataclass(frozen=True, slots=True)
class ReceiveResult:
    """The response to one ``SendMessage``: status code and message, and the inbox id of the document."""

    code: str
    message: str
    document_id: int
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class QueuedReceipt:
    """A receipt offered to its sender by ``getMessages``."""

    message_id: str
    in_reply_to: str
    kind: str
    xml: bytes = field(repr=False)
    created_at: dt.datetime = field(default_factory=utc_now)


@dataclass(frozen=True, slots=True)
class _Verified:
    card: Card
    document: Any
    verification: Any
    edition: str


# The columns of an earlier response, without loading the stored document itself.
_ANSWER_COLUMNS = select(ReceivedDocument.id, ReceivedDocument.response_code, ReceivedDocument.response_message)

# Earlier responses to a message, ranked: 0 the same message id, 1 its
# rejection, 2 the same document from the same gateway sender.
_EARLIER_ANSWERS = union_all(
    select(literal_column("0").label("rank"), *_ANSWER_COLUMNS.selected_columns).where(ReceivedDocument.message_id == bindparam("message_id")),
    select(literal_column("1"), RejectedMessage.id, RejectedMessage.error_code, RejectedMessage.message).where(RejectedMessage.message_id == bindparam("message_id")),
    select(literal_column("2"), *_ANSWER_COLUMNS.selected_columns).where(
        ReceivedDocument.sha256 == bindparam("sha256"), ReceivedDocument.sender_id == bindparam("sender_id")
    ),
)


@dataclass(frozen=True, slots=True)
class _DriverStatement:
    """A statement of the request path, compiled once per dialect and run with the driver's own cursor.

    SQLAlchemy's per-execution work (cache look-up, parameter processing,
    execution context, result set-up) costs more than SQLite's own work for
    the small statements of the request path. The values still go through
    each column type's bind processor, and a column left out gets its scalar
    default. Statements run on the connection's DB-API cursor, in its
    transaction, and bypass the engine's execution events and echo.
    """

    sql: str
    #: Parameter names in the driver's order (positional) or as its keys (named).
    names: tuple[str, ...]
    positional: bool
    processors: dict[str, Any]
    defaults: dict[str, Any]

    @classmethod
    def compile(cls, statement: Any, dialect: Any, *, columns: tuple[str, ...] = (), table: Any = None) -> _DriverStatement:
        defaults: dict[str, Any] = {}
        processors: dict[str, Any] = {}
        if table is not None:
            for column in table.columns:
                if column.name in columns:
                    continue
                if column.default is not None:
                    if not column.default.is_scalar:
                        raise TypeError(f"column {column.name} has a default that is not a constant")
                    defaults[column.name] = column.default.arg
            for name in (*columns, *defaults):
                processor = table.columns[name].type.bind_processor(dialect)
                if processor is not None:
                    processors[name] = processor
        compiled = statement.compile(dialect=dialect, column_keys=[*columns, *defaults] if table is not None else None)
        names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
        return cls(str(compiled), names, bool(compiled.positional), processors, defaults)

    def parameters(self, values: dict[str, Any]) -> Any:
        """Return the driver's parameters for ``values``: a tuple (positional) or a dict (named)."""
        if self.defaults:
            values = {**self.defaults, **values}
        processors = self.processors
        items = ((name, processors[name](values[name]) if name in processors else values[name]) for name in self.names)
        return tuple(value for _name, value in items) if self.positional else dict(items)


_DRIVER_STATEMENTS: dict[tuple[str, str, tuple[str, ...]], _DriverStatement] = {}


def _driver_statement(connection: Any, name: str, build: Any, *, columns: tuple[str, ...] = (), table: Any = None) -> _DriverStatement:
    key = (connection.dialect.name, name, columns)
    statement = _DRIVER_STATEMENTS.get(key)
    if statement is None:
        statement = _DRIVER_STATEMENTS[key] = _DriverStatement.compile(build(), connection.dialect, columns=columns, table=table)
    return statement


def _run(connection: Any, sql: str, parameters: Any, *, many: bool = False, fetch: bool = False) -> Any:
    """Run ``sql`` on the DB-API cursor of ``connection``; return the rows when ``fetch``, else the cursor's lastrowid.

    A driver error is raised as SQLAlchemy's, as ``connection.execute`` would,
    so :meth:`Database.transaction` reports it as a StoreError.
    """
    cursor = connection.connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        return cursor.fetchall() if fetch else getattr(cursor, "lastrowid", None)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, parameters, exc, connection.dialect.loaded_dbapi.Error, hide_parameters=True) from exc
    finally:
        cursor.close()


def _insert(connection: Any, table: Any, values: dict[str, Any], *, returning_id: bool = False) -> Any:
    """Insert one row of ``values`` into ``table``; return its id when ``returning_id``.

    The id comes from RETURNING where the database has it, and otherwise
    (SQLite before 3.35) from the cursor's lastrowid.
    """
    columns = tuple(values)
    returning = returning_id and connection.dialect.insert_returning
    name = f"insert {table.name}" + (" returning id" if returning else "")
    statement = _driver_statement(
        connection, name, lambda: insert(table).returning(table.c.id) if returning else insert(table), columns=columns, table=table
    )
    result = _run(connection, statement.sql, statement.parameters(values), fetch=returning)
    if not returning_id:
        return None
    return result[0][0] if returning else result


def _executemany(connection: Any, table: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) with the driver's own executemany.

    The rows go to the driver as they are, without the per-row processing of
    :meth:`_DriverStatement.parameters`, so the values must be ones the driver
    takes directly: str, int, bytes or None. The columns left out must have no default.
    """
    statement = _driver_statement(connection, f"insert {table.name}", lambda: insert(table), columns=columns, table=table)
    if statement.defaults:
        raise TypeError(f"columns {', '.join(statement.defaults)} of {table.name} need values")
    if not statement.positional:
        parameters: list[Any] = [dict(zip(columns, row)) for row in rows]
    elif statement.names == columns:
        parameters = rows
    else:
        order = tuple(columns.index(name) for name in statement.names)
        parameters = [tuple(row[index] for index in order) for row in rows]
    _run(connection, statement.sql, parameters, many=True)


def _insert_facts_and_evidence(connection: Any, document_id: int, document: Notification, card: Card) -> None:
    """Insert the facts and evidence files of an accepted notification with one executemany each.

    The rows skip the ORM's per-row bookkeeping and SQLAlchemy's parameter
    processing, which cost more than the database itself for a notification
    of 100,000 facts.
    """
    if document.facts:
        pending = FactState.PENDING.value
        _executemany(
            connection,
            ReceivedFact.__table__,
            ("document_id", "number", "protocol", "ip", "domain", "url", "mac", "imei", "description", "state"),
            [(document_id, f.number, f.protocol, f.ip, f.domain, f.url, f.mac, f.imei, f.description, pending) for f in document.facts],
        )
    if document.evidence:
        by_hash = {item.sha256: item for item in card.attachments}
        _executemany(
            connection,
            ReceivedEvidence.__table__,
            ("document_id", "number", "fact", "file_name", "media_type", "size", "sha256", "content"),
            [
                (document_id, item.number, item.fact, item.file_name, item.media_type, item.size, item.sha256, by_hash[item.sha256].content)
                for item in document.evidence
            ],
        )


class ReceiverService:
    """The receiving side: checks and stores incoming cards, queues signed receipts.

    ``signer`` signs receipts (:func:`load_receiver_signer`); ``store`` is the
    inbox :class:`~adapter.store.database.Database` (:func:`open_inbox`).
    """

    def __init__(self, config: Config, *, signer: Any, store: Database) -> None:
        self.config = config
        self.settings = receiver_settings(config)
        self.signer = signer
        self.store = store
        self.language = normalize_language(self.settings.language) or normalize_language(config.general.language) or DEFAULT_LANGUAGE
        self._trusted_certificates = self._load_trusted_senders()
        # A missing or unreadable [trust] file stops the service at startup
        # with its setting named, instead of rejecting every sender later.
        from signing.trust import TrustSettings, load_trust_anchors

        load_trust_anchors(TrustSettings.from_config(config))
        # The checks import these on first use; importing them now spares the
        # first sender a wait of about half a second.
        import signing.verify  # noqa: F401
        from ..xml import schema  # noqa: F401

    # -- configuration -------------------------------------------------

    def _load_trusted_senders(self) -> dict[str, tuple[x509.Certificate, ...]]:
        from signing.certificates import load_certificates

        loaded: dict[str, tuple[x509.Certificate, ...]] = {}
        for sender_bin, path in self.settings.trusted_senders.items():
            try:
                loaded[sender_bin] = tuple(load_certificates(self.config.resolve_path(path)))
            except InputError as exc:
                raise ConfigError(
                    N_("cannot read the certificate of sender {bin} in receiver.trusted_senders: {reason}"),
                    key=f"receiver.trusted_senders.{sender_bin}",
                    bin=sender_bin,
                    reason=str(exc),
                ) from exc
        return loaded

    def trust_sender(self, certificate: x509.Certificate) -> bool:
        """Return whether the certificate of a WS-Security signature may call this service.

        With ``[receiver] trusted_senders`` the certificate must be one of the
        configured files. Otherwise it must chain to the ``[trust]`` anchors
        and be valid now.
        """
        if self._trusted_certificates:
            return any(certificate in certificates for certificates in self._trusted_certificates.values())
        from signing.trust import validate_path

        # NOTE: the transport certificate's revocation is not checked here; the
        # document's own signature is checked for revocation before anything is stored.
        try:
            result = validate_path(certificate, intermediates=(), at=utc_now(), settings=self.config)
        except EdmsAdapterError as exc:
            logger.warning("sender certificate serial %x could not be checked: %s", certificate.serial_number, exc.localized("en"))
            return False
        if not result.trusted:
            logger.warning(
                "sender certificate serial %x is not trusted: %s",
                certificate.serial_number,
                ",".join(problem.code for problem in result.problems) or "-",
            )
        return result.trusted

    # -- SyncChannel SendMessage ------------------------------------------

    def receive(
        self,
        *,
        message_id: str,
        sender_id: str,
        payload: bytes | etree._Element | None,
        transport_certificate: x509.Certificate | None = None,
    ) -> ReceiveResult:
        """Check, store and acknowledge one document card; raise :class:`ReceiverFault` on failure."""
        # The card is read before the duplicate lookup, so one query finds both
        # an earlier message id and an earlier document. A card error is raised
        # only after the lookup, because a repeated message id gets its first
        # response whatever it carries now.
        card: Card | None = None
        card_error: InvalidDocumentError | None = None
        if payload is not None:
            try:
                card = parse_card(payload, max_bytes=self.settings.max_document_bytes + 64 * 1024 * 1024)
            except InvalidDocumentError as exc:
                card_error = exc

        earlier, same_message = self._earlier_answer(message_id, sender_id, card.document_sha256 if card is not None else None)
        if earlier is not None and same_message:
            logger.debug("message %s from %s repeated: same response as before", message_id, sender_id)
            return earlier
        if payload is None:
            raise self._fault(ReceiverErrorCode.REQUEST, N_("the message carries no document card in requestData/data"))
        if card is None:
            assert card_error is not None
            raise self._fault(ReceiverErrorCode.CARD_SCHEMA, N_("the document card is invalid"), problems=card_error.problems) from card_error

        # A document already received from this sender gets the same response again.
        # The same document from another gateway sender goes through every
        # check, so it cannot borrow the first sender's acceptance.
        if earlier is not None:
            logger.debug("message %s from %s repeats document %s: same response as before", message_id, sender_id, earlier.document_id)
            return earlier

        try:
            verified = self._verify(card, message_id=message_id, sender_id=sender_id, transport_certificate=transport_certificate)
        except _Transient:
            raise
        except ReceiverFault as fault:
            self._record_rejection(fault, message_id=message_id, sender_id=sender_id, card=card)
            raise
        return self._store(verified, message_id=message_id, sender_id=sender_id)

    def _verify(self, card: Card, *, message_id: str, sender_id: str, transport_certificate: x509.Certificate | None) -> _Verified:
        from signing.verify import verify_document

        from ..xml import parse_tree
        from ..xml.schema import validate_tree

        expected_bin = self.settings.sender_bins.get(sender_id)
        if expected_bin is not None and expected_bin != card.sender_bin:
            raise self._fault(
                ReceiverErrorCode.SENDER,
                N_("gateway sender {sender} sends for BIN {expected}, but the card names BIN {value}"),
                sender=sender_id,
                expected=expected_bin,
                value=card.sender_bin,
            )
        if transport_certificate is not None and card.sender_bin in self._trusted_certificates:
            if transport_certificate not in self._trusted_certificates[card.sender_bin]:
                raise self._fault(
                    ReceiverErrorCode.SENDER,
                    N_("the message is signed with a transport key that receiver.trusted_senders does not list for BIN {value}"),
                    value=card.sender_bin,
                )
        if card.document.size > self.settings.max_document_bytes:
            raise self._fault(
                ReceiverErrorCode.REQUEST,
                N_("the signed document is {size} bytes, more than the limit of {limit} bytes"),
                size=card.document.size,
                limit=self.settings.max_document_bytes,
            )

        # The document is parsed once: the schema check and then the signature check use this tree.
        try:
            tree = parse_tree(card.document.content, self.settings.max_document_bytes)
            problems = validate_tree(tree)
        except InvalidDocumentError as exc:
            problems = exc.problems
        if problems:
            raise self._fault(ReceiverErrorCode.DOCUMENT_SCHEMA, N_("the signed document does not match its schema"), problems=problems)

        # The certificate is judged as of receipt: the time the authorised body
        # got the document, which the sender cannot move.
        # The schema check above covered the whole document, so the signed bytes are not validated twice.
        result = verify_document(
            card.document.content, settings=self.config, at=utc_now(), expected_sender_bin=card.sender_bin, schema_checked=True, tree=tree
        )
        if result.intact and result.trusted and result.revoked is None:
            raise _Transient(
                ReceiverErrorCode.REVOCATION_UNKNOWN,
                N_("the revocation status of the signer's certificate could not be established; send the message again later with the same message id"),
                problems=result.problems,
            )
        if not (result.intact and result.trusted) or result.revoked:
            fault = self._fault(ReceiverErrorCode.SIGNATURE, N_("the document's signature check failed"), problems=result.problems)
            self._queue_signature_refusal(card, fault, message_id=message_id, sender_id=sender_id)
            raise fault
        if result.document is None:
            raise self._fault(ReceiverErrorCode.DOCUMENT_SCHEMA, N_("the signed document does not match its schema"), problems=result.problems)
        if not result.policy_ok:
            raise self._fault(ReceiverErrorCode.POLICY, N_("the signer may not sign this document"), problems=result.problems)
        if result.problems:
            fault = self._fault(ReceiverErrorCode.SIGNATURE, N_("the document's signature check failed"), problems=result.problems)
            self._queue_signature_refusal(card, fault, message_id=message_id, sender_id=sender_id)
            raise fault

        document = result.document
        mismatches = check_card(card, document)
        if mismatches:
            raise self._fault(ReceiverErrorCode.CARD_MISMATCH, N_("the card or its evidence files do not match the signed document"), problems=mismatches)

        header = document.header
        try:
            in_force = edition_for_date(header.date, self.config.documents.first_edition_start)
        except InputError as exc:
            raise self._fault(ReceiverErrorCode.EDITION, N_("no edition of the rules was in force on the document date {value}"), value=header.date.isoformat()) from exc
        if in_force.id != header.edition:
            raise self._fault(
                ReceiverErrorCode.EDITION,
                N_("the document follows rules edition {value}, but edition {expected} was in force on its date {date}"),
                value=header.edition,
                expected=in_force.id,
                date=header.date.isoformat(),
            )
        return _Verified(card, document, result, in_force.id)

    def _fault(self, code: ReceiverErrorCode, message: str, /, *, problems: Sequence[Problem] = (), **params: Any) -> ReceiverFault:
        return ReceiverFault(code, message, problems=problems, **params)

    def fault_text(self, fault: EdmsAdapterError) -> str:
        """Render a fault in the service's configured language."""
        return fault.localized(self.language)

    # -- idempotency ----------------------------------------------------

    def _earlier_answer(self, message_id: str, sender_id: str, sha256: str | None) -> tuple[ReceiveResult | None, bool]:
        """Return the earlier response to this message id, else to this document from ``sender_id``.

        The second value is True when the response belongs to the same message
        id. An earlier rejection of the message id is raised again. Without
        ``sha256`` the document part matches nothing, because the column is
        NOT NULL and ``= NULL`` is never true.
        """
        with self.store.transaction() as connection:
            statement = _driver_statement(connection, "earlier answers", lambda: _EARLIER_ANSWERS)
            parameters = statement.parameters({"message_id": message_id, "sha256": sha256, "sender_id": sender_id})
            rows = _run(connection, statement.sql, parameters, fetch=True)
        if not rows:
            return None, False
        rows.sort(key=lambda row: row[0])
        rank, row_id, code, message = rows[0]
        if rank != 1:
            return ReceiveResult(code, message, row_id, duplicate=True), rank == 0
        with self.store.session() as session:
            rejection = session.get(RejectedMessage, row_id)
        if rejection is not None:
            params = dict(rejection.params or {})
            problems = [Problem(**item) for item in params.pop("_problems", [])]
            raise ReceiverFault(ReceiverErrorCode(rejection.error_code), rejection.message, problems=problems, **params)
        return None, False

    def _answer_for_document(self, sha256: str, sender_id: str | None = None) -> ReceiveResult | None:
        with self.store.session() as session:
            query = _ANSWER_COLUMNS.where(ReceivedDocument.sha256 == sha256)
            if sender_id is not None:
                query = query.where(ReceivedDocument.sender_id == sender_id)
            document = session.execute(query).first()
            if document is None:
                return None
            return ReceiveResult(document.response_code, document.response_message, document.id, duplicate=True)

    def _record_rejection(self, fault: ReceiverFault, *, message_id: str, sender_id: str, card: Card | None) -> None:
        # ``code`` is the fault's own attribute, stored in its column.
        params = {key: value for key, value in fault.params.items() if key != "code" and (isinstance(value, (str, int, float, bool)) or value is None)}
        params["_problems"] = [
            {"code": p.code, "message": p.message, "field": p.field, "value": p.value, "location": p.location, "line": p.line, "params": {k: v for k, v in p.params.items() if isinstance(v, (str, int, float, bool))}}
            for p in fault.problems[:50]
        ]
        try:
            with self.store.session() as session:
                session.add(
                    RejectedMessage(
                        message_id=message_id,
                        sender_id=sender_id,
                        sha256=card.document_sha256 if card else None,
                        error_code=fault.error_code.value,
                        message=fault.message,
                        params=params,
                        created_at=utc_now(),
                    )
                )
        except StoreError:
            # A concurrent request with the same message id recorded it first.
            logger.warning("rejection of message %s was already recorded", message_id)
        logger.debug("message %s from %s rejected: %s", message_id, sender_id, fault.error_code.value)

    def _queue_signature_refusal(self, card: Card, fault: ReceiverFault, *, message_id: str, sender_id: str) -> None:
        if not sender_id:
            return
        reference = DocumentReference(message_id, card.document_sha256, card.doc_no, card.doc_date)
        receipt = Receipt.refused(reference, RefusalReason.SIGNATURE_INVALID, fault.localized(self.language)[:2000], issuer_bin=self.settings.bin or None)
        with self.store.session() as session:
            queue_receipt(session, receipt, self.signer, sender_id=sender_id, document_id=None)
        self._push_soon(sender_id)

    # -- storing ----------------------------------------------------------

    def _store(self, verified: _Verified, *, message_id: str, sender_id: str) -> ReceiveResult:
        card = verified.card
        document = verified.document
        header = document.header
        signer = verified.verification.signer
        now = utc_now()
        message = translate(N_("document received"), self.language)
        # The receipt is signed before the transaction, so SQLite's write lock is held for the inserts only.
        reference = DocumentReference(message_id, card.document_sha256, header.number, header.date)
        receipt = Receipt.delivered(reference, now, issuer_bin=self.settings.bin or None)
        signed_receipt = sign_receipt(receipt, self.signer)
        try:
            with self.store.transaction() as connection:
                values = dict(
                    message_id=message_id,
                    sha256=card.document_sha256,
                    sender_id=sender_id,
                    sender_bin=card.sender_bin,
                    sender_name=header.sender.name_kk,
                    kind=str(document.kind),
                    doc_no=header.number,
                    doc_date=header.date,
                    edition=verified.edition,
                    # The name and IIN come from the certificate; the role is the
                    # one the document states, which the policy check confirmed.
                    signer_name=signer.full_name or document.signatory.full_name,
                    signer_iin=signer.iin or document.signatory.iin,
                    signer_role=str(document.signatory.role),
                    signing_time=getattr(verified.verification, "signing_time", None),
                    received_at=now,
                    state=DocumentState.RECEIVED.value,
                    state_changed_at=now,
                    fact_count=card.fact_count,
                    document_xml=card.document.content,
                    response_code=SUCCESS_CODE,
                    response_message=message[:250],
                )
                document_id = _insert(connection, ReceivedDocument.__table__, values, returning_id=True)
                if isinstance(document, Notification):
                    _insert_facts_and_evidence(connection, document_id, document, card)
                # A driver-level insert, like the facts: the ORM's unit of work costs more than the row.
                _insert(connection, OutgoingReceipt.__table__, _receipt_row(receipt, signed_receipt, sender_id=sender_id, document_id=document_id))
                logger.debug("receipt %s (delivered) queued for sender %s, message %s", receipt.id, sender_id, message_id)
        except StoreError:
            # Two requests with the same message id or document raced; the first one stored it.
            earlier = self._answer_for_document(card.document_sha256)
            if earlier is None:
                raise
            return earlier
        # The SOAP layer logs the one INFO line of this exchange; details go to DEBUG.
        logger.debug("message %s from %s: document %s received (%s, %d facts)", message_id, sender_id, document_id, header.number, card.fact_count)
        self._push_soon(sender_id)
        return ReceiveResult(SUCCESS_CODE, message, document_id)

    # -- push -------------------------------------------------------------------

    def push(self, sender_id: str | None = None, *, wait: bool = True) -> int:
        """Push queued receipts to the senders of ``[receiver] push_endpoints``; return how many were delivered.

        Without ``wait``, a push to a sender that is already being pushed to
        returns 0 at once and leaves the receipts to the running push.
        """
        from .push import push_configured

        return push_configured(self.settings, self.store, self.signer, sender_id=sender_id, wait=wait)

    def _push_soon(self, sender_id: str) -> None:
        """Push in a background thread, so the sender's SendMessage gets its response without waiting."""
        if sender_id in self.settings.push_endpoints:
            threading.Thread(target=self._push_logged, args=(sender_id,), name=f"receipt-push-{sender_id}", daemon=True).start()

    def _push_logged(self, sender_id: str) -> None:
        try:
            self.push(sender_id, wait=False)
        except Exception:  # noqa: BLE001 - a background thread has no caller to raise to
            logger.exception("push of receipts to sender %s failed", sender_id)

    # -- AsyncChannel -------------------------------------------------------

    def pull(self, sender_id: str, amount: int | None = None) -> tuple[QueuedReceipt, ...]:
        """Return the receipts queued for ``sender_id``, oldest first; they stay queued until acknowledged."""
        limit = min(amount or self.settings.max_messages_per_pull, self.settings.max_messages_per_pull)
        with self.store.session() as session:
            rows = session.scalars(
                select(OutgoingReceipt)
                .where(OutgoingReceipt.sender_id == sender_id, OutgoingReceipt.state == QueueState.QUEUED.value)
                .order_by(OutgoingReceipt.id)
                .limit(limit)
            ).all()
            result = tuple(QueuedReceipt(row.message_id, row.in_reply_to, row.kind, row.xml, row.created_at) for row in rows)
        logger.debug("sender %s pulled %d receipt(s)", sender_id, len(result))
        return result

    def acknowledge(self, message_id: str, *, sender_id: str | None, accepted: bool, resend: bool = False) -> None:
        """Record a delivery notification: an accepted receipt leaves the queue.

        A receipt the sender did not accept stays queued when ``resend`` is
        set and is marked not delivered otherwise.
        """
        with self.store.session() as session:
            query = select(OutgoingReceipt).where(OutgoingReceipt.message_id == message_id)
            if sender_id:
                query = query.where(OutgoingReceipt.sender_id == sender_id)
            row = session.scalars(query).first()
            if row is None:
                raise ReceiverFault(ReceiverErrorCode.UNKNOWN_MESSAGE, N_("no receipt with message id {value} for this sender"), value=message_id)
            if accepted:
                row.state = QueueState.DELIVERED.value
            elif not resend:
                row.state = QueueState.NOT_DELIVERED.value
            row.state_changed_at = utc_now()
        logger.debug("receipt message %s acknowledged by %s: %s", message_id, sender_id, "accepted" if accepted else "not accepted")

    def message_state(self, message_id: str) -> tuple[str, str, str, dt.datetime]:
        """Return ``(state, status code, status message, status date)`` of a receipt or a received message.

        The state is one of ON_DELIVERY, DELIVERED, NOT_DELIVERED.
        """
        with self.store.session() as session:
            receipt = session.scalars(select(OutgoingReceipt).where(OutgoingReceipt.message_id == message_id)).first()
            if receipt is not None:
                state = {QueueState.QUEUED.value: "ON_DELIVERY", QueueState.DELIVERED.value: "DELIVERED"}.get(receipt.state, "NOT_DELIVERED")
                return state, SUCCESS_CODE, receipt.kind, receipt.state_changed_at or receipt.created_at
            document = session.scalars(select(ReceivedDocument).where(ReceivedDocument.message_id == message_id)).first()
            if document is not None:
                return "DELIVERED", document.response_code, document.state, document.state_changed_at
            rejection = session.scalars(select(RejectedMessage).where(RejectedMessage.message_id == message_id)).first()
            if rejection is not None:
                return "NOT_DELIVERED", rejection.error_code, translate(rejection.message, self.language, **{k: v for k, v in rejection.params.items() if not k.startswith("_")})[:250], rejection.created_at
        raise ReceiverFault(ReceiverErrorCode.UNKNOWN_MESSAGE, N_("no message with id {value}"), value=message_id)


    # -- ChannelHandler (adapter.service.soap) ----------------------------

    def _check_caller(self, sender_id: str, caller: Caller) -> None:
        """Refuse a caller whose WS-Security certificate belongs to another BIN than ``sender_id`` maps to."""
        expected_bin = self.settings.sender_bins.get(sender_id)
        if caller.certificate is None or expected_bin is None:
            return
        from signing.certificates import describe_certificate

        certificate_bin = describe_certificate(caller.certificate).bin
        if certificate_bin != expected_bin:
            raise self._fault(
                ReceiverErrorCode.SENDER,
                N_("gateway sender {sender} sends for BIN {expected}, but the message is signed with a certificate of BIN {value}"),
                sender=sender_id,
                expected=expected_bin,
                value=certificate_bin or "-",
            )

    def send_message(self, request: RequestInfo, payload: etree._Element | None, caller: Caller) -> SyncReply:
        """Handle SyncChannel ``SendMessage`` with a document card (see :meth:`receive`)."""
        self._check_caller(request.sender_id, caller)
        result = self.receive(
            message_id=request.message_id,
            sender_id=request.sender_id,
            payload=payload,
            transport_certificate=caller.certificate,
        )
        return SyncReply(status=Status(result.code, result.message))

    def send_async_message(self, message: MessageInfo, payload: etree._Element | None, caller: Caller) -> AsyncSendResult:
        """Refuse AsyncChannel ``sendMessage``: documents come by SyncChannel ``SendMessage``."""
        raise self._fault(ReceiverErrorCode.REQUEST, N_("this service takes documents by SyncChannel SendMessage only"))

    def get_messages(self, query: MessageQuery, caller: Caller) -> Sequence[ReceivedMessage]:
        """Handle AsyncChannel ``getMessages``: the receipts queued for the calling sender."""
        self._check_caller(query.sender_id, caller)
        messages = []
        for queued in self.pull(query.sender_id, query.amount):
            info = MessageInfo(
                service_id=RECEIPT_SERVICE_ID,
                message_type=MessageType.NOTIFICATION,
                message_date=queued.created_at,
                sender_id=self.settings.participant_id,
                message_id=queued.message_id,
                correlation_id=queued.in_reply_to,
            )
            messages.append(ReceivedMessage(info=info, payload=receipt_message(queued.xml, queued.kind)))
        return messages

    def send_delivery_notification(self, notification: DeliveryNotification, caller: Caller) -> None:
        """Handle AsyncChannel ``sendDeliveryNotification``: an accepted receipt leaves the queue."""
        if notification.sender_id:
            self._check_caller(notification.sender_id, caller)
        self.acknowledge(
            notification.message_id,
            sender_id=notification.sender_id,
            accepted=notification.receive_status is ReceiveStatus.ACCEPTED,
            resend=notification.resend is ResendMode.RESEND,
        )

    def get_message_status(self, message_id: str, caller: Caller) -> MessageStatus:
        """Handle AsyncChannel ``getMessageStatus`` for a receipt or a received document."""
        state, code, message, when = self.message_state(message_id)
        return MessageStatus(message_id=message_id, state=MessageState(state), status_code=code, status_date=when, status_message=message)


def create_wsgi_app(config: Config, *, signer: Any = None, store: Database | None = None) -> Any:
    """Build the WSGI application of the receiving service for a WSGI server of the integrator's choice.

    ``signer`` defaults to :func:`load_receiver_signer` and ``store`` to
    :func:`open_inbox`.
    """
    from ..service.soap import SoapApplication
    from ..transport.settings import ServiceSettings

    service = ReceiverService(
        config,
        signer=signer if signer is not None else load_receiver_signer(config),
        store=store if store is not None else open_inbox(config),
    )
    return SoapApplication(service, config.section("service", ServiceSettings), trust=service.trust_sender, language=service.language)

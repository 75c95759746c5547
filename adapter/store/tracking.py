"""The sender's tracking store: every outgoing document, its messages, receipts and decisions.

A document moves through these states::

    signed -> queued -> sent -> delivered -> registered -> decided
                 |        ^                       \\-> refused
                 v        |
              retrying ---+--> failed

``queued`` is committed before the document goes out, with the message id it
will carry, and the outcome is committed after. A process that dies in
between leaves the document ``queued``; :meth:`TrackingStore.pending` finds it
and the resend reuses the same message id, so the receiver can tell a resend
from a new document. Receipts may arrive out of order or after a lost
``sent`` record, so a receipt moves the state forward from any earlier state
and never back.

Every change of state is appended to ``outgoing_transitions`` with its time.
The ORM rejects any update or delete of its rows, and on SQLite a trigger
rejects them in raw SQL too. Raw receipts are kept as
received, valid or not, and the decision on each fact has its own row.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..errors import NotFoundError, StoreError
from ..i18n import N_
from .database import Base, Database, UtcDateTime, open_database, utc_now

__all__ = [
    "DecisionOutcome",
    "DocumentState",
    "DocumentStatus",
    "FactDecisionRecord",
    "OutgoingDocument",
    "OutgoingEvidence",
    "OutgoingMessage",
    "ReceiptRecord",
    "ReceivedReceipt",
    "StateTransition",
    "StoredEvidence",
    "TrackingStore",
    "Transition",
]

logger = logging.getLogger(__name__)

# An integer primary key that is SQLite's rowid there and a BIGINT elsewhere.
_Id = BigInteger().with_variant(Integer, "sqlite")


class DocumentState(enum.StrEnum):
    """State of an outgoing document."""

    SIGNED = "signed"
    QUEUED = "queued"
    RETRYING = "retrying"
    SENT = "sent"
    FAILED = "failed"
    DELIVERED = "delivered"
    REGISTERED = "registered"
    REFUSED = "refused"
    DECIDED = "decided"

    @property
    def final(self) -> bool:
        """Return whether no further state follows without a new send."""
        return self in _FINAL_STATES

    @property
    def label(self) -> str:
        """Return the gettext message id that names this state for people."""
        return _STATE_LABELS[self]


_FINAL_STATES = frozenset({DocumentState.FAILED, DocumentState.REFUSED, DocumentState.DECIDED})

_STATE_LABELS = {
    DocumentState.SIGNED: N_("signed"),
    DocumentState.QUEUED: N_("queued for sending"),
    DocumentState.RETRYING: N_("waiting to be sent again"),
    DocumentState.SENT: N_("sent"),
    DocumentState.FAILED: N_("sending failed"),
    DocumentState.DELIVERED: N_("delivered"),
    DocumentState.REGISTERED: N_("registered"),
    DocumentState.REFUSED: N_("registration refused"),
    DocumentState.DECIDED: N_("decided"),
}

# States set by the sender's own sending, before any receipt.
_SENDING_STATES = frozenset(
    {DocumentState.SIGNED, DocumentState.QUEUED, DocumentState.RETRYING, DocumentState.SENT, DocumentState.FAILED}
)

# Order of the states a receipt can set; a receipt never moves a document back.
_RECEIPT_RANK = {
    DocumentState.DELIVERED: 1,
    DocumentState.REGISTERED: 2,
    DocumentState.REFUSED: 3,
    DocumentState.DECIDED: 3,
}


class DecisionOutcome(enum.StrEnum):
    """Overall decision of the authorised body on the facts of a document."""

    CONFIRMED = "confirmed"
    PARTLY_CONFIRMED = "partly-confirmed"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        """Return the gettext message id that names this outcome for people."""
        return _OUTCOME_LABELS[self]


_OUTCOME_LABELS = {
    DecisionOutcome.CONFIRMED: N_("all facts confirmed"),
    DecisionOutcome.PARTLY_CONFIRMED: N_("some facts confirmed, some rejected"),
    DecisionOutcome.REJECTED: N_("all facts rejected"),
}


# ---------------------------------------------------------------------------
# Tables


class OutgoingDocument(Base):
    """A signed document the sender has sent or will send."""

    __tablename__ = "outgoing_documents"

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(String(36), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    number: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    document_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    sender_bin: Mapped[str | None] = mapped_column(String(12))
    item_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    xml_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(24))
    registration_number: Mapped[str | None] = mapped_column(String(100))
    registration_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (Index("ix_outgoing_documents_kind_created", "kind", "created_at"),)


class OutgoingPayload(Base):
    """The signed XML of a document, byte-exact, kept apart so status queries never read it."""

    __tablename__ = "outgoing_payloads"

    document_pk: Mapped[int] = mapped_column(_Id, ForeignKey("outgoing_documents.id", ondelete="CASCADE"), primary_key=True)
    signed_xml: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class OutgoingEvidence(Base):
    """An evidence file of a document, kept so that a resend needs nothing outside the store."""

    __tablename__ = "outgoing_evidence"

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    document_pk: Mapped[int] = mapped_column(_Id, ForeignKey("outgoing_documents.id", ondelete="CASCADE"), nullable=False, index=True)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    file_name: Mapped[str] = mapped_column(String(255), nullable=False)
    media_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)

    __table_args__ = (UniqueConstraint("document_pk", "number", name="uq_outgoing_evidence_number"),)


class OutgoingMessage(Base):
    """A gateway message that carries a document; a resend reuses its ``message_id``."""

    __tablename__ = "outgoing_messages"

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    document_pk: Mapped[int] = mapped_column(_Id, ForeignKey("outgoing_documents.id", ondelete="CASCADE"), nullable=False, index=True)
    service_id: Mapped[str] = mapped_column(String(100), nullable=False)
    route_id: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    response_code: Mapped[str | None] = mapped_column(String(50))
    response_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class StateTransition(Base):
    """One change of a document's state; the ORM only inserts these rows."""

    __tablename__ = "outgoing_transitions"

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    document_pk: Mapped[int] = mapped_column(_Id, ForeignKey("outgoing_documents.id", ondelete="CASCADE"), nullable=False, index=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class ReceivedReceipt(Base):
    """A receipt as received, with the result of its signature check."""

    __tablename__ = "received_receipts"

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    document_pk: Mapped[int | None] = mapped_column(_Id, ForeignKey("outgoing_documents.id", ondelete="SET NULL"), index=True)
    gateway_message_id: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    referenced_message_id: Mapped[str | None] = mapped_column(String(100), index=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    valid: Mapped[bool] = mapped_column(Boolean, nullable=False)
    problem: Mapped[str | None] = mapped_column(Text)
    signer: Mapped[str | None] = mapped_column(String(500))
    raw: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    issued_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class FactDecision(Base):
    """The authorised body's decision on one fact; a later amended decision replaces it."""

    __tablename__ = "fact_decisions"

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    document_pk: Mapped[int] = mapped_column(_Id, ForeignKey("outgoing_documents.id", ondelete="CASCADE"), nullable=False)
    fact_number: Mapped[int] = mapped_column(Integer, nullable=False)
    decision: Mapped[str] = mapped_column(String(16), nullable=False)
    justification: Mapped[str | None] = mapped_column(Text)
    receipt_pk: Mapped[int | None] = mapped_column(_Id, ForeignKey("received_receipts.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (UniqueConstraint("document_pk", "fact_number", name="uq_fact_decisions_fact"),)


# Triggers keep the log append-only for raw SQL too, on both databases. A
# database created by a release without them has the ORM guard below only.
for _operation in ("UPDATE", "DELETE"):
    event.listen(
        StateTransition.__table__,
        "after_create",
        DDL(
            f"CREATE TRIGGER outgoing_transitions_no_{_operation.lower()} BEFORE {_operation} ON outgoing_transitions "
            "BEGIN SELECT RAISE(ABORT, 'outgoing_transitions is append-only'); END"
        ).execute_if(dialect="sqlite"),
    )
for _statement in (
    "CREATE OR REPLACE FUNCTION outgoing_transitions_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'outgoing_transitions is append-only'; END $$",
    "CREATE TRIGGER outgoing_transitions_no_change BEFORE UPDATE OR DELETE ON outgoing_transitions "
    "FOR EACH ROW EXECUTE FUNCTION outgoing_transitions_append_only()",
    "CREATE TRIGGER outgoing_transitions_no_truncate BEFORE TRUNCATE ON outgoing_transitions "
    "FOR EACH STATEMENT EXECUTE FUNCTION outgoing_transitions_append_only()",
):
    event.listen(StateTransition.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
event.listen(
    StateTransition.__table__,
    "after_drop",
    DDL("DROP FUNCTION IF EXISTS outgoing_transitions_append_only()").execute_if(dialect="postgresql"),
)


@event.listens_for(StateTransition, "before_update")
@event.listens_for(StateTransition, "before_delete")
def _reject_log_change(_mapper: Any, _connection: Any, target: StateTransition) -> None:
    raise StoreError(N_("the state log is append-only; transition {id} cannot be changed"), id=target.id)


# ---------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class Transition:
    """One entry of a document's timeline."""

    state: DocumentState
    at: dt.datetime
    reason: str | None = None
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class FactDecisionRecord:
    """The decision on one fact: ``confirmed`` or ``rejected`` with a justification."""

    fact: int
    decision: str
    justification: str | None
    decided_at: dt.datetime


@dataclass(frozen=True, slots=True)
class DocumentStatus:
    """Current state of an outgoing document, with its message and decision counts."""

    document_id: str
    kind: str
    number: str
    document_date: dt.date
    state: DocumentState
    reason: str | None
    message_id: str | None
    attempts: int
    item_count: int
    xml_sha256: str
    outcome: DecisionOutcome | None
    registration_number: str | None
    registration_date: dt.date | None
    confirmed: int
    rejected: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def final(self) -> bool:
        """Return whether the document reached a final state."""
        return self.state.final


@dataclass(frozen=True, slots=True)
class StoredEvidence:
    """An evidence file kept with an outgoing document."""

    number: int
    file_name: str
    media_type: str
    size: int
    sha256: str
    content: bytes


def _receipt_id(raw: bytes) -> str | None:
    """Return the ``Id`` attribute of a stored receipt's root element, the id the authorised body shows."""
    from lxml import etree

    from ..xml.security import secure_parser

    try:
        return etree.fromstring(raw, secure_parser()).get("Id")
    except etree.XMLSyntaxError:
        return None


@dataclass(frozen=True, slots=True)
class ReceiptRecord:
    """A stored receipt: its kind, validity and what it referred to."""

    gateway_message_id: str
    referenced_message_id: str | None
    document_id: str | None
    kind: str | None
    valid: bool
    problem: str | None
    signer: str | None
    received_at: dt.datetime
    #: The receipt's own ``Id``, as the authorised body's operator commands print it; ``None`` when not parsed.
    receipt_id: str | None = None


# ---------------------------------------------------------------------------
# The store


class TrackingStore:
    """Record and look up outgoing documents in a :class:`~adapter.store.database.Database`."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @classmethod
    def open(cls, url: str | None = None, *, config: Any = None) -> TrackingStore:
        """Open the store at ``url``, else the configured database (see :func:`open_database`)."""
        return cls(open_database(url, config=config))

    def close(self) -> None:
        """Close the database connections."""
        self.database.close()

    # -- writing -------------------------------------------------------------

    def record_signed(
        self,
        *,
        kind: str,
        number: str,
        document_date: dt.date,
        signed_xml: bytes,
        sender_bin: str | None = None,
        item_count: int = 0,
        evidence: Sequence[StoredEvidence] = (),
        document_id: str | None = None,
    ) -> str:
        """Store a signed document with its evidence files in state ``signed``; return its id."""
        document_id = document_id or str(uuid.uuid4())
        now = utc_now()
        with self.database.session() as session:
            row = OutgoingDocument(
                document_id=document_id,
                kind=str(kind),
                number=number,
                document_date=document_date,
                sender_bin=sender_bin,
                item_count=item_count,
                xml_sha256=hashlib.sha256(signed_xml).hexdigest(),
                state=DocumentState.SIGNED.value,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            session.add(OutgoingPayload(document_pk=row.id, signed_xml=signed_xml))
            for item in evidence:
                session.add(
                    OutgoingEvidence(
                        document_pk=row.id,
                        number=item.number,
                        file_name=item.file_name,
                        media_type=item.media_type,
                        size=item.size,
                        sha256=item.sha256,
                        content=item.content,
                    )
                )
            session.add(StateTransition(document_pk=row.id, state=DocumentState.SIGNED.value, at=now))
        return document_id

    def record_queued(
        self,
        document_id: str,
        *,
        service_id: str,
        route_id: str | None = None,
        message_id: str | None = None,
    ) -> str:
        """Commit the message that will carry the document, before it is sent; return its id.

        A document that already has a message keeps it, so a resend carries the same id.
        """
        now = utc_now()
        with self.database.session() as session:
            row = self._find(session, document_id)
            existing = self._latest_message(session, row.id)
            if existing is not None:
                message_id = existing.message_id
            else:
                message_id = message_id or f"{{{uuid.uuid4()}}}"
                session.add(
                    OutgoingMessage(
                        message_id=message_id,
                        document_pk=row.id,
                        service_id=service_id,
                        route_id=route_id,
                        created_at=now,
                    )
                )
            if DocumentState(row.state) in _SENDING_STATES - {DocumentState.SENT}:
                self._move(session, row, DocumentState.QUEUED, now=now, message_id=message_id)
        return message_id

    def record_attempt(self, message_id: str) -> int:
        """Count one send attempt of ``message_id``; return the number of attempts so far."""
        with self.database.session() as session:
            message = self._message_row(session, message_id)
            message.attempts += 1
            message.last_attempt_at = utc_now()
            return message.attempts

    def record_sent(self, message_id: str, *, code: str | None = None, message: str | None = None) -> None:
        """Record that the gateway accepted ``message_id`` (status ``code`` such as ``SCSS001``)."""
        self._record_outcome(message_id, DocumentState.SENT, code=code, text=message)

    def record_retrying(self, message_id: str, reason: str) -> None:
        """Record a transient failure; the document waits to be sent again with the same id."""
        self._record_outcome(message_id, DocumentState.RETRYING, text=reason)

    def record_failed(self, message_id: str, reason: str, *, code: str | None = None) -> None:
        """Record a failure that a resend of the same message will not fix."""
        self._record_outcome(message_id, DocumentState.FAILED, code=code, text=reason)

    def _record_outcome(
        self,
        message_id: str,
        state: DocumentState,
        *,
        code: str | None = None,
        text: str | None = None,
    ) -> None:
        now = utc_now()
        with self.database.session() as session:
            message = self._message_row(session, message_id)
            message.response_code = code
            message.response_message = text
            row = session.get(OutgoingDocument, message.document_pk)
            assert row is not None
            if DocumentState(row.state) in _SENDING_STATES:
                reason = text if state is not DocumentState.SENT else None
                self._move(session, row, state, now=now, reason=reason, message_id=message_id)

    def record_receipt(
        self,
        *,
        gateway_message_id: str,
        raw: bytes,
        referenced_message_id: str,
        kind: str,
        signer: str | None,
        issued_at: dt.datetime | None = None,
        registration_number: str | None = None,
        registration_date: dt.date | None = None,
        reason: str | None = None,
        decisions: Iterable[tuple[int, str, str | None]] = (),
    ) -> ReceiptRecord:
        """Store a receipt whose signature was verified, and apply it to its document.

        ``kind`` is ``delivered``, ``registered``, ``refused`` or ``decision``;
        ``decisions`` contains ``(fact number, "confirmed" | "rejected",
        justification)``. A receipt already stored (same gateway message id)
        changes nothing. A receipt for a message this sender never sent is
        stored with ``document_id`` ``None``, for review.
        """
        now = utc_now()
        with self.database.session() as session:
            duplicate = self._stored_receipt(session, gateway_message_id)
            if duplicate is not None:
                return self._receipt_record(session, duplicate)

            message = session.scalars(select(OutgoingMessage).where(OutgoingMessage.message_id == referenced_message_id)).first()
            document = session.get(OutgoingDocument, message.document_pk) if message is not None else None
            receipt = ReceivedReceipt(
                document_pk=document.id if document is not None else None,
                gateway_message_id=gateway_message_id,
                referenced_message_id=referenced_message_id,
                kind=kind,
                valid=True,
                signer=signer,
                raw=raw,
                issued_at=issued_at,
                received_at=now,
            )
            session.add(receipt)
            session.flush()
            if document is not None:
                self._apply_receipt(
                    session,
                    document,
                    receipt,
                    now=now,
                    registration_number=registration_number,
                    registration_date=registration_date,
                    reason=reason,
                    decisions=decisions,
                )
            record = self._receipt_record(session, receipt)
        if record.document_id is None:
            logger.warning("receipt %s refers to unknown message %s; stored for review", gateway_message_id, referenced_message_id)
        return record

    def record_invalid_receipt(
        self,
        *,
        gateway_message_id: str,
        raw: bytes,
        problem: str,
        referenced_message_id: str | None = None,
        kind: str | None = None,
        signer: str | None = None,
    ) -> ReceiptRecord:
        """Store a receipt that failed verification, for review; no document changes state."""
        with self.database.session() as session:
            duplicate = self._stored_receipt(session, gateway_message_id)
            if duplicate is not None:
                return self._receipt_record(session, duplicate)
            receipt = ReceivedReceipt(
                document_pk=None,
                gateway_message_id=gateway_message_id,
                referenced_message_id=referenced_message_id,
                kind=kind,
                valid=False,
                problem=problem,
                signer=signer,
                raw=raw,
                received_at=utc_now(),
            )
            session.add(receipt)
            session.flush()
            return self._receipt_record(session, receipt)

    def _apply_receipt(
        self,
        session: Session,
        document: OutgoingDocument,
        receipt: ReceivedReceipt,
        *,
        now: dt.datetime,
        registration_number: str | None,
        registration_date: dt.date | None,
        reason: str | None,
        decisions: Iterable[tuple[int, str, str | None]],
    ) -> None:
        message_id = receipt.referenced_message_id
        if receipt.kind == "delivered":
            self._advance(session, document, DocumentState.DELIVERED, now=now, message_id=message_id)
        elif receipt.kind == "registered":
            document.registration_number = registration_number
            document.registration_date = registration_date
            self._advance(session, document, DocumentState.REGISTERED, now=now, reason=registration_number, message_id=message_id)
        elif receipt.kind == "refused":
            self._advance(session, document, DocumentState.REFUSED, now=now, reason=reason, message_id=message_id)
        elif receipt.kind == "decision":
            self._store_decisions(session, document, receipt, decisions, now=now)
            outcome = self._outcome(session, document)
            if outcome is not None and document.state == DocumentState.DECIDED.value:
                if document.outcome != outcome.value:
                    # An amended decision changed the outcome: the log records the new one.
                    document.outcome = outcome.value
                    self._move(session, document, DocumentState.DECIDED, now=now, reason=outcome.value, message_id=message_id)
            elif outcome is not None:
                document.outcome = outcome.value
                self._advance(session, document, DocumentState.DECIDED, now=now, reason=outcome.value, message_id=message_id)
            elif _RECEIPT_RANK.get(DocumentState(document.state), 0) < _RECEIPT_RANK[DocumentState.REGISTERED]:
                # A decision on part of the facts implies the document was registered.
                self._advance(session, document, DocumentState.REGISTERED, now=now, message_id=message_id)
        else:
            raise StoreError(N_("unknown receipt kind {kind!r}"), kind=receipt.kind)

    def _store_decisions(
        self,
        session: Session,
        document: OutgoingDocument,
        receipt: ReceivedReceipt,
        decisions: Iterable[tuple[int, str, str | None]],
        *,
        now: dt.datetime,
    ) -> None:
        existing = {
            row.fact_number: row
            for row in session.scalars(select(FactDecision).where(FactDecision.document_pk == document.id))
        }
        for fact_number, decision, justification in decisions:
            row = existing.get(fact_number)
            if row is None:
                row = FactDecision(document_pk=document.id, fact_number=fact_number)
                session.add(row)
                existing[fact_number] = row
            row.decision = decision
            row.justification = justification
            row.receipt_pk = receipt.id
            row.decided_at = now
        session.flush()

    @staticmethod
    def _decision_counts(session: Session, document_pk: int) -> dict[str, int]:
        rows = session.execute(
            select(FactDecision.decision, func.count()).where(FactDecision.document_pk == document_pk).group_by(FactDecision.decision)
        ).all()
        return {decision: count for decision, count in rows}

    @classmethod
    def _outcome(cls, session: Session, document: OutgoingDocument) -> DecisionOutcome | None:
        counts = cls._decision_counts(session, document.id)
        confirmed = counts.get("confirmed", 0)
        rejected = counts.get("rejected", 0)
        if confirmed + rejected < max(document.item_count, 1):
            return None
        if rejected == 0:
            return DecisionOutcome.CONFIRMED
        if confirmed == 0:
            return DecisionOutcome.REJECTED
        return DecisionOutcome.PARTLY_CONFIRMED

    def _advance(
        self,
        session: Session,
        document: OutgoingDocument,
        state: DocumentState,
        *,
        now: dt.datetime,
        reason: str | None = None,
        message_id: str | None = None,
    ) -> None:
        current = DocumentState(document.state)
        if current in _SENDING_STATES or _RECEIPT_RANK[state] > _RECEIPT_RANK.get(current, 0):
            self._move(session, document, state, now=now, reason=reason, message_id=message_id)
        else:
            logger.info("document %s stays %s: a %s receipt came later", document.document_id, current.value, state.value)

    @staticmethod
    def _move(
        session: Session,
        document: OutgoingDocument,
        state: DocumentState,
        *,
        now: dt.datetime,
        reason: str | None = None,
        message_id: str | None = None,
    ) -> None:
        document.state = state.value
        document.reason = reason
        document.updated_at = now
        session.add(StateTransition(document_pk=document.id, state=state.value, reason=reason, message_id=message_id, at=now))
        logger.debug("document %s is now %s", document.document_id, state.value)

    # -- reading -------------------------------------------------------------

    def status(self, identifier: str) -> DocumentStatus:
        """Return the status of a document named by its id, its message id or its number.

        A number used by several documents names the latest of them.
        """
        with self.database.session() as session:
            row = self._find(session, identifier)
            return self._status(session, row)

    def recent(self, limit: int = 20, *, kind: str | None = None) -> tuple[DocumentStatus, ...]:
        """Return the ``limit`` documents created last, newest first."""
        with self.database.session() as session:
            query = select(OutgoingDocument).order_by(OutgoingDocument.created_at.desc(), OutgoingDocument.id.desc())
            if kind is not None:
                query = query.where(OutgoingDocument.kind == kind)
            rows = session.scalars(query.limit(limit)).all()
            return tuple(self._status(session, row) for row in rows)

    def pending(self) -> tuple[DocumentStatus, ...]:
        """Return documents recorded for sending but not known to be sent, oldest first."""
        waiting = (DocumentState.QUEUED.value, DocumentState.RETRYING.value)
        with self.database.session() as session:
            rows = session.scalars(
                select(OutgoingDocument).where(OutgoingDocument.state.in_(waiting)).order_by(OutgoingDocument.id)
            ).all()
            return tuple(self._status(session, row) for row in rows)

    def open_documents(self) -> tuple[DocumentStatus, ...]:
        """Return documents sent and still waiting for a final receipt."""
        waiting = (DocumentState.SENT.value, DocumentState.DELIVERED.value, DocumentState.REGISTERED.value)
        with self.database.session() as session:
            rows = session.scalars(select(OutgoingDocument).where(OutgoingDocument.state.in_(waiting))).all()
            return tuple(self._status(session, row) for row in rows)

    def timeline(self, identifier: str) -> tuple[Transition, ...]:
        """Return every state the document has passed through, oldest first."""
        with self.database.session() as session:
            row = self._find(session, identifier)
            transitions = session.scalars(
                select(StateTransition).where(StateTransition.document_pk == row.id).order_by(StateTransition.id)
            ).all()
            return tuple(Transition(DocumentState(t.state), t.at, t.reason, t.message_id) for t in transitions)

    def decisions(self, identifier: str) -> tuple[FactDecisionRecord, ...]:
        """Return the decision on each fact decided so far, by fact number."""
        with self.database.session() as session:
            row = self._find(session, identifier)
            rows = session.scalars(
                select(FactDecision).where(FactDecision.document_pk == row.id).order_by(FactDecision.fact_number)
            ).all()
            return tuple(FactDecisionRecord(d.fact_number, d.decision, d.justification, d.decided_at) for d in rows)

    def receipts(self, identifier: str | None = None, *, valid: bool | None = None) -> tuple[ReceiptRecord, ...]:
        """Return the stored receipts of one document, or of all documents, in arrival order."""
        with self.database.session() as session:
            query = select(ReceivedReceipt).order_by(ReceivedReceipt.id)
            if identifier is not None:
                query = query.where(ReceivedReceipt.document_pk == self._find(session, identifier).id)
            if valid is not None:
                query = query.where(ReceivedReceipt.valid == valid)
            return tuple(self._receipt_record(session, row) for row in session.scalars(query))

    def signed_xml(self, identifier: str) -> bytes:
        """Return the signed XML of a document as it was stored."""
        with self.database.session() as session:
            row = self._find(session, identifier)
            payload = session.get(OutgoingPayload, row.id)
            if payload is None:
                raise StoreError(N_("the signed XML of document {document_id} is missing from the store"), document_id=row.document_id)
            return payload.signed_xml

    def evidence(self, identifier: str) -> tuple[StoredEvidence, ...]:
        """Return the evidence files stored with a document, by number."""
        with self.database.session() as session:
            row = self._find(session, identifier)
            files = session.scalars(
                select(OutgoingEvidence).where(OutgoingEvidence.document_pk == row.id).order_by(OutgoingEvidence.number)
            ).all()
            return tuple(StoredEvidence(f.number, f.file_name, f.media_type, f.size, f.sha256, f.content) for f in files)

    def message_id(self, identifier: str) -> str | None:
        """Return the message id that carries the document, or ``None`` before it is queued."""
        with self.database.session() as session:
            message = self._latest_message(session, self._find(session, identifier).id)
            return message.message_id if message is not None else None

    def find_submitted(self, kind: str, number: str, document_date: dt.date) -> DocumentStatus | None:
        """Return the latest document of ``kind`` with this number and date that did not fail and was not refused."""
        closed = (DocumentState.FAILED.value, DocumentState.REFUSED.value)
        with self.database.session() as session:
            row = session.scalars(
                select(OutgoingDocument)
                .where(
                    OutgoingDocument.number == number,
                    OutgoingDocument.kind == kind,
                    OutgoingDocument.document_date == document_date,
                    OutgoingDocument.state.not_in(closed),
                )
                .order_by(OutgoingDocument.id.desc())
                .limit(1)
            ).first()
            return self._status(session, row) if row is not None else None

    def last_sent(self, kind: str) -> DocumentStatus | None:
        """Return the newest document of ``kind`` that was sent and not refused or failed."""
        excluded = (DocumentState.SIGNED.value, DocumentState.FAILED.value, DocumentState.REFUSED.value)
        with self.database.session() as session:
            row = session.scalars(
                select(OutgoingDocument)
                .where(OutgoingDocument.kind == kind, OutgoingDocument.state.not_in(excluded))
                .order_by(OutgoingDocument.document_date.desc(), OutgoingDocument.id.desc())
                .limit(1)
            ).first()
            return self._status(session, row) if row is not None else None

    def count(self, state: DocumentState | None = None) -> int:
        """Return how many documents are stored, or how many are in ``state``."""
        with self.database.session() as session:
            query = select(func.count()).select_from(OutgoingDocument)
            if state is not None:
                query = query.where(OutgoingDocument.state == state.value)
            return int(session.scalar(query) or 0)

    # -- helpers -------------------------------------------------------------

    @staticmethod
    def _find(session: Session, identifier: str) -> OutgoingDocument:
        identifier = identifier.strip()
        row = session.scalars(select(OutgoingDocument).where(OutgoingDocument.document_id == identifier)).first()
        if row is not None:
            return row
        row = session.scalars(
            select(OutgoingDocument)
            .join(OutgoingMessage, OutgoingMessage.document_pk == OutgoingDocument.id)
            .where(OutgoingMessage.message_id == identifier)
        ).first()
        if row is not None:
            return row
        row = session.scalars(
            select(OutgoingDocument).where(OutgoingDocument.number == identifier).order_by(OutgoingDocument.id.desc()).limit(1)
        ).first()
        if row is not None:
            return row
        raise NotFoundError(
            N_("no outgoing document has the id, message id or number {identifier}; run 'edms-adapter status' to list recent documents"),
            identifier=identifier,
        )

    @staticmethod
    def _stored_receipt(session: Session, gateway_message_id: str) -> ReceivedReceipt | None:
        return session.scalars(select(ReceivedReceipt).where(ReceivedReceipt.gateway_message_id == gateway_message_id)).first()

    @staticmethod
    def _message_row(session: Session, message_id: str) -> OutgoingMessage:
        message = session.scalars(select(OutgoingMessage).where(OutgoingMessage.message_id == message_id)).first()
        if message is None:
            raise NotFoundError(N_("no outgoing message has the id {message_id}"), message_id=message_id)
        return message

    @staticmethod
    def _latest_message(session: Session, document_pk: int) -> OutgoingMessage | None:
        return session.scalars(
            select(OutgoingMessage).where(OutgoingMessage.document_pk == document_pk).order_by(OutgoingMessage.id.desc()).limit(1)
        ).first()

    def _status(self, session: Session, row: OutgoingDocument) -> DocumentStatus:
        message = self._latest_message(session, row.id)
        counts: dict[str, int] = {}
        if row.state in (DocumentState.REGISTERED.value, DocumentState.DECIDED.value):
            counts = self._decision_counts(session, row.id)
        return DocumentStatus(
            document_id=row.document_id,
            kind=row.kind,
            number=row.number,
            document_date=row.document_date,
            state=DocumentState(row.state),
            reason=row.reason,
            message_id=message.message_id if message is not None else None,
            attempts=message.attempts if message is not None else 0,
            item_count=row.item_count,
            xml_sha256=row.xml_sha256,
            outcome=DecisionOutcome(row.outcome) if row.outcome else None,
            registration_number=row.registration_number,
            registration_date=row.registration_date,
            confirmed=counts.get("confirmed", 0),
            rejected=counts.get("rejected", 0),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @staticmethod
    def _receipt_record(session: Session, row: ReceivedReceipt) -> ReceiptRecord:
        document_id = None
        if row.document_pk is not None:
            document = session.get(OutgoingDocument, row.document_pk)
            document_id = document.document_id if document is not None else None
        return ReceiptRecord(
            gateway_message_id=row.gateway_message_id,
            referenced_message_id=row.referenced_message_id,
            document_id=document_id,
            kind=row.kind,
            valid=row.valid,
            problem=row.problem,
            signer=row.signer,
            received_at=row.received_at,
            receipt_id=_receipt_id(row.raw) if row.valid else None,
        )

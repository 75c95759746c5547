"""The receiving side's inbox: received documents, their facts and evidence, registrations, decisions, outgoing receipts.

Tables are declared on :class:`adapter.store.database.Base`, so
:meth:`~adapter.store.database.Database.create_all` creates them together with
the sender's. A document is unique by the sender's message id and by its
SHA-256, which makes receiving idempotent. Receipts wait in
``inbox_receipts`` until the sender acknowledges them with a delivery
notification.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..i18n import N_
from .database import Base, UtcDateTime

__all__ = [
    "DocumentState",
    "FactState",
    "OutgoingReceipt",
    "QueueState",
    "ReceivedDocument",
    "ReceivedEvidence",
    "ReceivedFact",
    "RecordedDecision",
    "Registration",
    "RejectedMessage",
]


class DocumentState(enum.StrEnum):
    """State of a received document: received -> registered | refused; registered -> decided."""

    RECEIVED = "received"
    REGISTERED = "registered"
    REFUSED = "refused"
    DECIDED = "decided"

    @property
    def label(self) -> str:
        """Return the gettext message id that names this state for people."""
        return _STATE_LABELS[self]


_STATE_LABELS = {
    DocumentState.RECEIVED: N_("received"),
    DocumentState.REGISTERED: N_("registered"),
    DocumentState.REFUSED: N_("refused"),
    DocumentState.DECIDED: N_("decided"),
}


class FactState(enum.StrEnum):
    """Decision state of one fact."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class QueueState(enum.StrEnum):
    """State of an outgoing receipt in the queue."""

    QUEUED = "queued"
    DELIVERED = "delivered"
    NOT_DELIVERED = "not_delivered"


class ReceivedDocument(Base):
    """A document accepted by the receiving service, with the response that was returned."""

    __tablename__ = "inbox_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    sender_id: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    sender_bin: Mapped[str] = mapped_column(String(12), nullable=False)
    sender_name: Mapped[str] = mapped_column(String(500), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    doc_no: Mapped[str] = mapped_column(String(100), nullable=False)
    doc_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    edition: Mapped[str] = mapped_column(String(20), nullable=False)
    signer_name: Mapped[str] = mapped_column(String(500), nullable=False)
    signer_iin: Mapped[str | None] = mapped_column(String(12))
    signer_role: Mapped[str] = mapped_column(String(40), nullable=False)
    signing_time: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default=DocumentState.RECEIVED.value, index=True)
    state_changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    fact_count: Mapped[int] = mapped_column(Integer, nullable=False)
    refusal_code: Mapped[int | None] = mapped_column(Integer)
    refusal_text: Mapped[str | None] = mapped_column(Text)
    document_xml: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    response_code: Mapped[str] = mapped_column(String(20), nullable=False)
    response_message: Mapped[str] = mapped_column(String(250), nullable=False)

    facts: Mapped[list[ReceivedFact]] = relationship(back_populates="document", order_by="ReceivedFact.number", cascade="all, delete-orphan")
    evidence: Mapped[list[ReceivedEvidence]] = relationship(back_populates="document", order_by="ReceivedEvidence.number", cascade="all, delete-orphan")
    registration: Mapped[Registration | None] = relationship(back_populates="document", cascade="all, delete-orphan")


class ReceivedFact(Base):
    """One fact of a received notification with its current decision."""

    __tablename__ = "inbox_facts"
    # The unique index on (document_id, number) also serves look-ups by document.
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("inbox_documents.id", ondelete="CASCADE"), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    protocol: Mapped[str] = mapped_column(String(20), nullable=False)
    ip: Mapped[str | None] = mapped_column(String(45))
    domain: Mapped[str | None] = mapped_column(String(253))
    url: Mapped[str | None] = mapped_column(Text)
    mac: Mapped[str | None] = mapped_column(String(17))
    imei: Mapped[str | None] = mapped_column(String(15))
    description: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default=FactState.PENDING.value)
    justification: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    document: Mapped[ReceivedDocument] = relationship(back_populates="facts")


class ReceivedEvidence(Base):
    """One evidence file, stored with the bytes whose SHA-256 the signed notification binds."""

    __tablename__ = "inbox_evidence"
    # The unique index on (document_id, number) also serves look-ups by document.
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("inbox_documents.id", ondelete="CASCADE"), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    fact: Mapped[int | None] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(255), nullable=False)
    media_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)

    document: Mapped[ReceivedDocument] = relationship(back_populates="evidence")


class Registration(Base):
    """The registration of a document: number, date and the yearly sequence it came from."""

    __tablename__ = "inbox_registrations"
    __table_args__ = (UniqueConstraint("year", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("inbox_documents.id", ondelete="CASCADE"), unique=True, nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    number: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    registration_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    registered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)

    document: Mapped[ReceivedDocument] = relationship(back_populates="registration")


class RecordedDecision(Base):
    """History of decisions: one row per fact per decision, amendments included."""

    __tablename__ = "inbox_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("inbox_documents.id", ondelete="CASCADE"), nullable=False, index=True)
    fact_number: Mapped[int] = mapped_column(Integer, nullable=False)
    outcome: Mapped[str] = mapped_column(String(20), nullable=False)
    justification: Mapped[str | None] = mapped_column(Text)
    amended: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    receipt_id: Mapped[str] = mapped_column(String(100), nullable=False)
    decided_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class OutgoingReceipt(Base):
    """A signed receipt waiting for (or already acknowledged by) its sender.

    ``message_id`` is the id under which the receipt is offered by
    AsyncChannel ``getMessages``; ``in_reply_to`` is the sender's message id
    of the document.
    """

    __tablename__ = "inbox_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    receipt_id: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    message_id: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_documents.id", ondelete="SET NULL"), index=True)
    sender_id: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    in_reply_to: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    xml: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default=QueueState.QUEUED.value, index=True)
    state_changed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    push_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    pushed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class RejectedMessage(Base):
    """A message the service rejected with a fault, kept so a repeat gets the same fault and no second receipt."""

    __tablename__ = "inbox_rejections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    sender_id: Mapped[str] = mapped_column(String(100), nullable=False)
    sha256: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str] = mapped_column(String(40), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)

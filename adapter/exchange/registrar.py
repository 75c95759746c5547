"""The authorised body's operator functions: list the inbox, register, refuse, decide, export.

A received document moves ``received -> registered | refused`` and
``registered -> decided`` once every fact has a decision. Each step produces
a receipt signed with the receiving side's key and queued for the sender::

    registrar = Registrar(config, signer=load_receiver_signer(config), store=open_inbox(config))
    registrar.register(7)
    registrar.decide(7, confirm=[1, 2], reject=[3], justification="the page was removed before the check")
    registrar.export_confirmed("confirmed.csv")
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..config import Config
from ..errors import InputError, NotFoundError, StoreError
from ..i18n import N_, Term
from ..outputs import write_atomically
from ..store.database import Database, utc_now
from ..store.inbox import DocumentState, FactState, ReceivedDocument, ReceivedFact, RecordedDecision, Registration
from .receipts import DocumentReference, FactDecision, FactOutcome, Receipt, RefusalReason
from .receiver import ReceiverSettings, queue_receipt, receiver_settings

__all__ = [
    "ConfirmedFact",
    "DecisionSummary",
    "InboxEntry",
    "Registrar",
    "parse_fact_numbers",
]

logger = logging.getLogger(__name__)


class DecisionSummary:
    """Names of the overall decision on a document's facts."""

    PENDING = "pending"
    ALL_CONFIRMED = "all confirmed"
    PARTLY_CONFIRMED = "partly confirmed"
    ALL_REJECTED = "all rejected"


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """One line of the inbox listing."""

    id: int
    received_at: dt.datetime
    state: DocumentState
    kind: str
    doc_no: str
    doc_date: dt.date
    sender_bin: str
    sender_name: str
    signer_name: str
    signer_role: str
    registration_number: str | None
    confirmed: int
    rejected: int
    pending: int

    @property
    def summary(self) -> str:
        """The overall decision: pending, all confirmed, partly confirmed or all rejected."""
        if self.pending:
            return DecisionSummary.PENDING
        if self.rejected == 0:
            return DecisionSummary.ALL_CONFIRMED
        if self.confirmed == 0:
            return DecisionSummary.ALL_REJECTED
        return DecisionSummary.PARTLY_CONFIRMED


@dataclass(frozen=True, slots=True)
class ConfirmedFact:
    """A confirmed fact for blocking, with the document and the time it was first confirmed in."""

    protocol: str
    ip: str | None
    domain: str | None
    url: str | None
    mac: str | None
    imei: str | None
    document_id: int
    doc_no: str
    doc_date: dt.date
    sender_bin: str
    fact: int
    confirmed_at: dt.datetime
    occurrences: int = 1

    def as_row(self) -> dict[str, Any]:
        """Return the fact as a flat mapping for CSV and JSON."""
        return {
            "protocol": self.protocol,
            "ip": self.ip or "",
            "domain": self.domain or "",
            "url": self.url or "",
            "mac": self.mac or "",
            "imei": self.imei or "",
            "document_id": self.document_id,
            "doc_no": self.doc_no,
            "doc_date": self.doc_date.isoformat(),
            "sender_bin": self.sender_bin,
            "fact": self.fact,
            "confirmed_at": self.confirmed_at.isoformat(),
            "occurrences": self.occurrences,
        }


#: Attempts of one registration when another one takes the same number at once.
_REGISTRATION_ATTEMPTS = 5

EXPORT_COLUMNS = ("protocol", "ip", "domain", "url", "mac", "imei", "document_id", "doc_no", "doc_date", "sender_bin", "fact", "confirmed_at", "occurrences")


def parse_fact_numbers(text: str | Iterable[int] | None) -> tuple[int, ...]:
    """Parse fact numbers such as ``1,2,5-7`` into ``(1, 2, 5, 6, 7)``; raise InputError naming the bad part."""
    if text is None:
        return ()
    if not isinstance(text, str):
        return tuple(sorted(set(int(number) for number in text)))
    numbers: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        low, separator, high = part.partition("-")
        try:
            first = int(low)
            last = int(high) if separator else first
        except ValueError:
            raise InputError(
                N_("invalid fact number or range {value!r}; use numbers and ranges such as 1,2,5-7"),
                field="facts",
                value=part,
            ) from None
        if first < 1 or last < first:
            raise InputError(
                N_("invalid fact range {value!r}; numbers start at 1 and a range goes from low to high, such as 5-7"),
                field="facts",
                value=part,
            )
        numbers.update(range(first, last + 1))
    return tuple(sorted(numbers))


class Registrar:
    """Operator functions over the inbox; every change queues a signed receipt for the sender."""

    def __init__(self, config: Config, *, signer: Any, store: Database) -> None:
        self.config = config
        self.settings: ReceiverSettings = receiver_settings(config)
        self.signer = signer
        self.store = store

    # -- listing --------------------------------------------------------------

    def list_inbox(self, *, state: DocumentState | str | None = None) -> tuple[InboxEntry, ...]:
        """Return the received documents, newest first, with their fact decision counts."""
        with self.store.session() as session:
            query = select(ReceivedDocument).order_by(ReceivedDocument.id.desc())
            if state is not None:
                query = query.where(ReceivedDocument.state == DocumentState(state).value)
            documents = session.scalars(query).all()
            counts = self._fact_counts(session, [document.id for document in documents])
            entries = []
            for document in documents:
                confirmed, rejected, pending = counts.get(document.id, (0, 0, 0))
                entries.append(
                    InboxEntry(
                        id=document.id,
                        received_at=document.received_at,
                        state=DocumentState(document.state),
                        kind=document.kind,
                        doc_no=document.doc_no,
                        doc_date=document.doc_date,
                        sender_bin=document.sender_bin,
                        sender_name=document.sender_name,
                        signer_name=document.signer_name,
                        signer_role=document.signer_role,
                        registration_number=document.registration.number if document.registration else None,
                        confirmed=confirmed,
                        rejected=rejected,
                        pending=pending,
                    )
                )
        return tuple(entries)

    @staticmethod
    def _fact_counts(session: Any, document_ids: list[int]) -> dict[int, tuple[int, int, int]]:
        if not document_ids:
            return {}
        rows = session.execute(
            select(ReceivedFact.document_id, ReceivedFact.state, func.count())
            .where(ReceivedFact.document_id.in_(document_ids))
            .group_by(ReceivedFact.document_id, ReceivedFact.state)
        ).all()
        counts: dict[int, list[int]] = {}
        order = {FactState.CONFIRMED.value: 0, FactState.REJECTED.value: 1, FactState.PENDING.value: 2}
        for document_id, state, count in rows:
            counts.setdefault(document_id, [0, 0, 0])[order[state]] += count
        return {key: (value[0], value[1], value[2]) for key, value in counts.items()}

    def get(self, document_id: int) -> InboxEntry:
        """Return one inbox entry; raise NotFoundError when there is none."""
        for entry in self.list_inbox():
            if entry.id == document_id:
                return entry
        raise NotFoundError(N_("no received document with id {value}; list them with edms-adapter inbox"), value=document_id)

    # -- state changes -------------------------------------------------------

    def _load(self, session: Any, document_id: int) -> ReceivedDocument:
        document = session.get(ReceivedDocument, document_id)
        if document is None:
            raise NotFoundError(N_("no received document with id {value}; list them with edms-adapter inbox"), value=document_id)
        return document

    @staticmethod
    def _reference(document: ReceivedDocument) -> DocumentReference:
        return DocumentReference(document.message_id, document.sha256, document.doc_no, document.doc_date)

    @staticmethod
    def _require_state(document: ReceivedDocument, allowed: tuple[DocumentState, ...], message: str) -> None:
        """Raise InputError with ``message`` unless ``document`` is in one of the ``allowed`` states.

        ``message`` gets the document id as ``{value}`` and its translated state as ``{state}``.
        """
        if document.state not in {state.value for state in allowed}:
            raise InputError(message, field="state", value=document.id, state=Term(DocumentState(document.state).label))

    def register(self, document_id: int, *, day: dt.date | None = None) -> Receipt:
        """Register a received document under the next number of the year and queue a *registered* receipt.

        Two registrations that take the same number at once collide on the
        unique (year, sequence) constraint; the later one is retried with the
        next number.
        """
        registration_day = day or utc_now().date()
        for attempt in range(1, _REGISTRATION_ATTEMPTS + 1):
            try:
                receipt = self._register_once(document_id, registration_day)
                break
            except StoreError as exc:
                # Only a duplicate (year, sequence) is worth another attempt;
                # a missing document or an unreachable database is reported at once.
                if not isinstance(exc.__cause__, IntegrityError) or attempt == _REGISTRATION_ATTEMPTS:
                    raise
                logger.warning("registration of document %s collided with another one; retrying", document_id)
        logger.info("document %s registered as %s", document_id, receipt.registration_number)
        self._push(document_id)
        return receipt

    def _register_once(self, document_id: int, registration_day: dt.date) -> Receipt:
        with self.store.session() as session:
            document = self._load(session, document_id)
            if document.state == DocumentState.REGISTERED.value:
                raise InputError(N_("document {value} is already registered; only a received document can be registered"), field="state", value=document.id)
            self._require_state(
                document,
                (DocumentState.RECEIVED,),
                N_("document {value} is in the state \"{state}\", so it cannot be registered; only a received document can be registered"),
            )
            year = registration_day.year
            last = session.scalar(select(func.max(Registration.sequence)).where(Registration.year == year)) or 0
            sequence = last + 1
            number = self.settings.registration_number_format.format(year=year, seq=sequence)
            now = utc_now()
            session.add(
                Registration(
                    document_id=document.id,
                    year=year,
                    sequence=sequence,
                    number=number,
                    registration_date=registration_day,
                    registered_at=now,
                )
            )
            document.state = DocumentState.REGISTERED.value
            document.state_changed_at = now
            receipt = Receipt.registered(self._reference(document), number, registration_day, issuer_bin=self.settings.bin or None)
            queue_receipt(session, receipt, self.signer, sender_id=document.sender_id, document_id=document.id)
        return receipt

    def refuse(self, document_id: int, reason: RefusalReason | int | str) -> Receipt:
        """Refuse to register a received document and queue a *refused* receipt.

        ``reason`` is a code 1 (bad link), 2 (signature check failed), 3
        (violates the procedure rules) or a free text.
        """
        code, text = _refusal(reason)
        with self.store.session() as session:
            document = self._load(session, document_id)
            self._require_state(
                document,
                (DocumentState.RECEIVED,),
                N_("document {value} is in the state \"{state}\", so its registration cannot be refused; only a received document can be refused"),
            )
            now = utc_now()
            document.state = DocumentState.REFUSED.value
            document.state_changed_at = now
            document.refusal_code = int(code) if code is not None else None
            document.refusal_text = text
            receipt = Receipt.refused(self._reference(document), code, text, issuer_bin=self.settings.bin or None)
            queue_receipt(session, receipt, self.signer, sender_id=document.sender_id, document_id=document.id)
        logger.info("document %s refused (reason %s)", document_id, int(code) if code is not None else "text")
        self._push(document_id)
        return receipt

    def decide(
        self,
        document_id: int,
        *,
        confirm: str | Iterable[int] | None = None,
        reject: str | Iterable[int] | None = None,
        justification: str | None = None,
        amend: bool = False,
    ) -> Receipt:
        """Confirm or reject facts of a registered notification and queue a *decision* receipt.

        Each fact is decided once; deciding a decided fact again is an error
        unless ``amend`` is set. A rejection needs ``justification``. When
        every fact is decided the document becomes *decided*.
        """
        confirmed = parse_fact_numbers(confirm)
        rejected = parse_fact_numbers(reject)
        if not confirmed and not rejected:
            raise InputError(N_("name the facts to decide with --confirm and/or --reject, such as --confirm 1-3 --reject 4"), field="facts", value="")
        both = sorted(set(confirmed) & set(rejected))
        if both:
            raise InputError(
                N_("fact {value} is both confirmed and rejected; name each fact once") if len(both) == 1
                else N_("facts {value} are both confirmed and rejected; name each fact once"),
                field="facts",
                value=",".join(map(str, both)),
            )
        text = (justification or "").strip() or None
        if rejected and text is None:
            raise InputError(
                N_("rejecting fact {value} needs a justification that states why there is no violation; give --justification") if len(rejected) == 1
                else N_("rejecting facts {value} needs a justification that states why there is no violation; give --justification"),
                field="justification",
                value=",".join(map(str, rejected)),
            )
        decisions = [FactDecision(number, FactOutcome.CONFIRMED) for number in confirmed]
        decisions += [FactDecision(number, FactOutcome.REJECTED, text) for number in rejected]

        with self.store.session() as session:
            document = self._load(session, document_id)
            if document.kind != "notification":
                raise InputError(
                    N_("document {value} is a staff roster, which has no facts to decide; registering it is enough"),
                    field="document",
                    value=document_id,
                )
            self._require_state(
                document,
                (DocumentState.REGISTERED, DocumentState.DECIDED),
                N_("document {value} is in the state \"{state}\", so its facts cannot be decided; only the facts of a registered document can be decided"),
            )
            facts = {fact.number: fact for fact in document.facts}
            unknown = sorted(decision.fact for decision in decisions if decision.fact not in facts)
            if unknown:
                raise InputError(
                    N_("document {document} has no fact {value}; its facts are numbered 1 to {count}") if len(unknown) == 1
                    else N_("document {document} has no facts {value}; its facts are numbered 1 to {count}"),
                    field="facts",
                    value=",".join(map(str, unknown)),
                    document=document_id,
                    count=len(facts),
                )
            if not amend:
                already = sorted(decision.fact for decision in decisions if facts[decision.fact].state != FactState.PENDING.value)
                if already:
                    raise InputError(
                        N_("fact {value} is already decided; give --amend to change a decision") if len(already) == 1
                        else N_("facts {value} are already decided; give --amend to change a decision"),
                        field="facts",
                        value=",".join(map(str, already)),
                    )
            now = utc_now()
            receipt = Receipt.decision(self._reference(document), decisions, amended=amend, issuer_bin=self.settings.bin or None)
            for decision in decisions:
                fact = facts[decision.fact]
                fact.state = decision.outcome.value
                fact.justification = decision.justification
                fact.decided_at = now
                session.add(
                    RecordedDecision(
                        document_id=document.id,
                        fact_number=decision.fact,
                        outcome=decision.outcome.value,
                        justification=decision.justification,
                        amended=amend,
                        receipt_id=receipt.id,
                        decided_at=now,
                    )
                )
            if all(fact.state != FactState.PENDING.value for fact in facts.values()):
                document.state = DocumentState.DECIDED.value
            document.state_changed_at = now
            queue_receipt(session, receipt, self.signer, sender_id=document.sender_id, document_id=document.id)
        logger.info("document %s: %d fact(s) confirmed, %d rejected%s", document_id, len(confirmed), len(rejected), " (amended)" if amend else "")
        self._push(document_id)
        return receipt

    def _push(self, document_id: int) -> None:
        """Push the new receipt at once when the document's sender has a push endpoint."""
        if not self.settings.push_endpoints:
            return
        from .push import push_configured

        with self.store.session() as session:
            sender_id = self._load(session, document_id).sender_id
        push_configured(self.settings, self.store, self.signer, sender_id=sender_id)

    # -- export ------------------------------------------------------------------

    def confirmed_facts(self) -> tuple[ConfirmedFact, ...]:
        """Return every confirmed fact once, with the document and time of its first confirmation.

        Two facts are the same when protocol, IP, domain, URL, MAC and IMEI are
        equal (the domain compared case-insensitively); ``occurrences``
        counts how many times it was confirmed.
        """
        seen: dict[tuple[Any, ...], ConfirmedFact] = {}
        with self.store.session() as session:
            rows = session.execute(
                select(ReceivedFact, ReceivedDocument)
                .join(ReceivedDocument, ReceivedFact.document_id == ReceivedDocument.id)
                .where(ReceivedFact.state == FactState.CONFIRMED.value)
                .order_by(ReceivedFact.decided_at, ReceivedFact.id)
            ).all()
            for fact, document in rows:
                key = (fact.protocol, fact.ip, (fact.domain or "").lower() or None, fact.url, fact.mac, fact.imei)
                known = seen.get(key)
                if known is not None:
                    seen[key] = _with_occurrence(known)
                    continue
                seen[key] = ConfirmedFact(
                    protocol=fact.protocol,
                    ip=fact.ip,
                    domain=fact.domain,
                    url=fact.url,
                    mac=fact.mac,
                    imei=fact.imei,
                    document_id=document.id,
                    doc_no=document.doc_no,
                    doc_date=document.doc_date,
                    sender_bin=document.sender_bin,
                    fact=fact.number,
                    confirmed_at=fact.decided_at or document.state_changed_at,
                )
        return tuple(seen.values())

    def export_confirmed(self, output: str | os.PathLike[str] | io.TextIOBase | None = None, *, format: str = "csv") -> str:
        """Write the deduplicated confirmed facts as CSV or JSON; return the text when ``output`` is ``None``."""
        if format not in ("csv", "json"):
            raise InputError(N_("unknown export format {value!r}; use csv or json"), field="format", value=format)
        rows = [fact.as_row() for fact in self.confirmed_facts()]
        buffer = io.StringIO()
        if format == "csv":
            writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        else:
            json.dump(rows, buffer, ensure_ascii=False, indent=2)
            buffer.write("\n")
        text = buffer.getvalue()
        if output is None:
            return text
        if isinstance(output, io.TextIOBase):
            output.write(text)
        else:
            write_atomically(output, text.encode("utf-8"))
        logger.info("exported %d confirmed fact(s)", len(rows))
        return text


def _with_occurrence(fact: ConfirmedFact) -> ConfirmedFact:
    from dataclasses import replace

    return replace(fact, occurrences=fact.occurrences + 1)


def _refusal(reason: RefusalReason | int | str) -> tuple[RefusalReason | None, str | None]:
    if isinstance(reason, RefusalReason):
        return reason, None
    if isinstance(reason, int):
        return _reason_code(str(reason)), None
    text = reason.strip()
    if text.isdigit():
        return _reason_code(text), None
    if not text:
        raise InputError(N_("a refusal needs a reason code 1, 2 or 3 or a reason text"), field="reason", value="")
    return None, text


def _reason_code(text: str) -> RefusalReason:
    try:
        return RefusalReason(int(text))
    except ValueError:
        raise InputError(
            N_("unknown refusal reason code {value}; use 1 (bad link), 2 (signature check failed), 3 (violates the procedure rules) or a text"),
            field="reason",
            value=text,
        ) from None

"""The sending side: build, validate, sign, send and track documents, and take in receipts.

:class:`SenderClient` runs the whole workflow of a state body::

    client = SenderClient(load_config())
    submission = client.submit("notification.toml")     # build, validate, sign, send, track
    client.pull_receipts()                               # AsyncChannel getMessages
    client.status(submission.document_id).state          # DocumentState.REGISTERED, ...

Sending is crash-safe. The signed document, its evidence files and the
message id are committed to the tracking store before the message goes out,
and the gateway's response is committed after. A process that dies in between
leaves the document ``queued``; :meth:`SenderClient.send_pending` sends it
again under the same message id, and the receiving side registers a message
id only once.

Receipts change nothing until their signature is checked against the
configured receiver certificate (``[sender] receiver_certificate``) or, when
none is configured, the trust anchors of ``[trust]``. A receipt is stored
before the gateway receives the delivery notification, so a crash between
the two makes the gateway offer it again, and the store ignores the repeat. A receipt
with a bad signature is stored for review as invalid, reported in
:class:`PullResult`, and changes no document.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from lxml import etree

from ..config import Config
from ..errors import (
    ConfigError,
    EdmsAdapterError,
    GatewayFault,
    InputError,
    InvalidDocumentError,
    NotFoundError,
    Problem,
    TransientTransportError,
    TransportError,
    VerificationError,
)
from ..i18n import N_, Term
from ..model import Document, DocumentKind, Notification, Roster
from ..service.soap import BaseChannelHandler
from ..store.tracking import DocumentState, DocumentStatus, ReceiptRecord, StoredEvidence, TrackingStore
from ..transport.messages import Caller, RequestInfo, Status, SyncReply

__all__ = [
    "PullResult",
    "ReceiptPushHandler",
    "RejectedReceipt",
    "RosterDue",
    "SenderClient",
    "SenderSettings",
    "Submission",
    "create_push_app",
    "find_evidence",
    "load_certificate",
    "load_signer_from_config",
]

logger = logging.getLogger(__name__)

#: ``ErrorInfo`` code of the delivery notification that rejects a receipt failing verification.
RECEIPT_REJECTED_CODE = "EDMS-RCPT-001"


@dataclass(frozen=True, slots=True)
class SenderSettings:
    """The ``[sender]`` table."""

    #: PEM or DER certificate file of the authorised body's receipt-signing key;
    #: empty means any signer that chains to the ``[trust]`` anchors.
    receiver_certificate: str = ""
    #: How receipts arrive: ``pull`` (AsyncChannel getMessages) or ``push``
    #: (the receiving side calls ``edms-adapter serve --role sender``).
    receipts: str = "pull"
    #: ``serviceId`` under which the receiving side offers receipts to ``getMessages``.
    receipt_service_id: str = "EDMS_ADAPTER_RECEIPTS"
    #: Largest number of receipts asked for in one getMessages call; 0 means the gateway's default.
    pull_batch: int = 100
    #: Days after which the staff roster is due again; the rules require at least one every six months.
    roster_interval_days: int = 183
    #: Seconds between two status checks of ``watch``.
    watch_poll_seconds: float = 5.0
    #: Seconds ``watch`` waits for a final state before it gives up.
    watch_timeout_seconds: float = 3600.0
    #: Address and port ``serve --role sender`` listens on for pushed receipts.
    push_host: str = "127.0.0.1"
    push_port: int = 8091


@dataclass(frozen=True, slots=True)
class Submission:
    """The outcome of sending one document.

    ``state`` is ``sent`` when the gateway accepted the message, ``retrying``
    after a transient failure (the document is kept and
    :meth:`SenderClient.send_pending` sends it again under the same
    ``message_id``), or ``failed`` when the gateway rejected it.
    """

    document_id: str
    message_id: str
    kind: str
    number: str
    state: DocumentState
    xml_sha256: str
    response_code: str | None = None
    reason: str | None = None
    preview: Path | None = None

    @property
    def sent(self) -> bool:
        """Return whether the gateway accepted the message."""
        return self.state is DocumentState.SENT


@dataclass(frozen=True, slots=True)
class RejectedReceipt:
    """A pulled or pushed receipt that failed verification and changed nothing."""

    gateway_message_id: str
    error: EdmsAdapterError = field(compare=False)

    @property
    def reason(self) -> str:
        """Return the error in the current language."""
        return str(self.error)


@dataclass(frozen=True, slots=True)
class PullResult:
    """Receipts taken in by one :meth:`SenderClient.pull_receipts` call."""

    accepted: tuple[ReceiptRecord, ...] = ()
    rejected: tuple[RejectedReceipt, ...] = ()

    @property
    def unmatched(self) -> tuple[ReceiptRecord, ...]:
        """Return valid receipts about messages this sender has no record of."""
        return tuple(item for item in self.accepted if item.document_id is None)


@dataclass(frozen=True, slots=True)
class RosterDue:
    """Whether a new staff roster is due: ``due`` when none was sent or the last is too old."""

    due: bool
    interval_days: int
    last: DocumentStatus | None = None
    age_days: int | None = None
    due_date: dt.date | None = None


class SenderClient:
    """The sending side's workflow over a signer, a tracking store and a gateway client.

    Each of ``signer``, ``store`` and ``transport`` is built from ``config``
    on first use when not given: the key of ``[signing]``, the database of
    ``[store]`` and a :class:`~adapter.transport.GatewayClient` on
    ``[gateway]``.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        signer: Any = None,
        store: TrackingStore | None = None,
        transport: Any = None,
    ) -> None:
        self.config = config or Config()
        self.settings = self.config.section("sender", SenderSettings)
        if self.settings.receipts not in ("pull", "push"):
            raise ConfigError(
                N_("invalid value {value!r} for setting {key}: expected pull or push"),
                key="sender.receipts",
                value=self.settings.receipts,
            )
        self._signer = signer
        self._store = store
        self._owns_store = store is None
        self._transport = transport
        self._receiver_certificates: tuple[x509.Certificate, ...] | None = None
        # Called with the message id after the gateway responded and before the
        # outcome is committed; tests use it to stop the process at that point.
        self._after_send_hook: Callable[[str], None] | None = None

    # -- collaborators ---------------------------------------------------------

    @property
    def store(self) -> TrackingStore:
        """Return the tracking store, opening the configured database on first use."""
        if self._store is None:
            self._store = TrackingStore.open(config=self.config)
        return self._store

    @property
    def transport(self) -> Any:
        """Return the gateway client, built from ``[gateway]`` on first use."""
        if self._transport is None:
            from ..transport import GatewayClient, GatewaySettings

            self._transport = GatewayClient(GatewaySettings.from_config(self.config), signer=self.signer)
        return self._transport

    @property
    def signer(self) -> Any:
        """Return the signer, opening the key of ``[signing]`` on first use."""
        if self._signer is None:
            self._signer = load_signer_from_config(self.config)
        return self._signer

    def close(self) -> None:
        """Close the store when this client opened it, and the gateway client."""
        if self._owns_store and self._store is not None:
            self._store.close()
            self._store = None
        close = getattr(self._transport, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> SenderClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- sending ---------------------------------------------------------------

    def submit(
        self,
        source: str | os.PathLike[str] | Document,
        *,
        facts_file: str | os.PathLike[str] | None = None,
        preview: str | os.PathLike[str] | None = None,
        evidence_folders: Sequence[str | os.PathLike[str]] = (),
        resubmit: bool = False,
    ) -> Submission:
        """Build, validate, sign, send and track a document from an input file or a model object.

        Evidence files are looked up by name and checked by SHA-256 in the
        input file's folder, its subfolders and ``evidence_folders``.
        ``preview`` names an ``.html`` or ``.pdf`` file to render the
        document into before it is signed. A document with the number and
        date of one submitted before (and not failed or refused) raises
        :class:`InputError` unless ``resubmit`` is set, because the receiving
        side would register the new copy as a second document.
        """
        folders = [Path(folder) for folder in evidence_folders]
        if isinstance(source, (Notification, Roster)):
            document: Document = source
        else:
            from ..inputs import load_input

            input_path = Path(source)
            document = load_input(input_path, facts_file=facts_file, config=self.config)
            folders.insert(0, input_path.resolve().parent)

        if not resubmit:
            self._check_not_submitted(document)
        evidence = find_evidence(document, folders)
        # A configuration error of the gateway surfaces now, before anything is signed or recorded.
        _ = self.transport
        # The preview comes first, so the head can read what is about to be signed.
        preview_path = self._render_preview(document, Path(preview)) if preview else None
        signed_xml = self._build_and_sign(document)
        # The receiver rejects what fails this check, so nothing failing it is recorded or sent.
        self._verify_before_sending(signed_xml, source=document.header.number)
        return self._record_and_send(document, signed_xml, evidence, preview_path)

    def submit_roster(
        self,
        source: str | os.PathLike[str] | Document,
        *,
        preview: str | os.PathLike[str] | None = None,
        resubmit: bool = False,
    ) -> Submission:
        """Submit a staff roster (Appendix 1); the input must describe a roster, not a notification."""
        if isinstance(source, (Notification, Roster)):
            document: Document = source
            name = document.header.number
        else:
            from ..inputs import load_input

            document = load_input(Path(source), config=self.config)
            name = str(source)
        if not isinstance(document, Roster):
            raise InputError(
                N_("{value} describes a {kind}, not a staff roster; use 'edms-adapter submit' for notifications"),
                field="document.kind",
                value=name,
                kind=str(document.kind),
            )
        return self.submit(document, preview=preview, resubmit=resubmit)

    def send(
        self,
        signed_xml: str | os.PathLike[str] | bytes,
        *,
        evidence_folders: Sequence[str | os.PathLike[str]] = (),
        resubmit: bool = False,
    ) -> Submission:
        """Verify and send a document signed elsewhere, with the evidence files beside it (see :meth:`submit` for ``resubmit``)."""
        folders = [Path(folder) for folder in evidence_folders]
        if isinstance(signed_xml, bytes):
            data = signed_xml
        else:
            path = Path(signed_xml)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise InputError(
                    N_("failed to read the signed document {value}: {reason}; check the path"),
                    field="signed_xml",
                    value=str(path),
                    reason=exc.strerror or type(exc).__name__,
                ) from exc
            folders.insert(0, path.resolve().parent)

        document = self._verify_before_sending(data, source=str(signed_xml) if not isinstance(signed_xml, bytes) else None)
        if not resubmit:
            self._check_not_submitted(document)
        evidence = find_evidence(document, folders)
        _ = self.transport
        return self._record_and_send(document, data, evidence, None)

    def resend(self, identifier: str) -> Submission:
        """Send a stored document again under its first message id."""
        return self._send_stored(self.store.status(identifier).document_id)

    def send_pending(self) -> tuple[Submission, ...]:
        """Send every document left ``queued`` or ``retrying``, each under its first message id."""
        return tuple(self._send_stored(status.document_id) for status in self.store.pending())

    def _verify_before_sending(self, signed_xml: bytes, *, source: str | None) -> Document:
        """Verify ``signed_xml`` as the receiver will (signature, trust, revocation, signatory policy) and return its document.

        Raises InvalidDocumentError listing the problems when it fails.
        """
        from signing.verify import verify_document

        result = verify_document(signed_xml, settings=self.config)
        if not result.ok or result.document is None:
            raise InvalidDocumentError(result.problems, source=source)
        return result.document

    def _check_not_submitted(self, document: Document) -> None:
        header = document.header
        earlier = self.store.find_submitted(str(document.kind), header.number, header.date)
        if earlier is not None:
            raise InputError(
                N_("document No. {value} of {date} was already submitted as {document_id} (state: {state}); run 'edms-adapter resend {document_id}' to send it again, or give --resubmit to send a new copy"),
                field="document.number",
                value=header.number,
                date=header.date.isoformat(),
                document_id=earlier.document_id,
                state=Term(earlier.state.label),
                code="already-submitted",
            )

    def _build_and_sign(self, document: Document) -> bytes:
        from signing.verify import sign_document

        from ..xml import build_xml, check_xml

        xml = build_xml(document)
        check_xml(xml)
        return sign_document(xml, self.signer, settings=self.config)

    def _record_and_send(
        self,
        document: Document,
        signed_xml: bytes,
        evidence: Sequence[StoredEvidence],
        preview: Path | None,
    ) -> Submission:
        # Building the card first checks every evidence file against the
        # signed document, so nothing unsendable is recorded.
        payload = self._card_payload(signed_xml, evidence)
        header = document.header
        item_count = len(document.facts) if isinstance(document, Notification) else len(document.employees)
        document_id = self.store.record_signed(
            kind=str(document.kind),
            number=header.number,
            document_date=header.date,
            signed_xml=signed_xml,
            sender_bin=header.sender.bin,
            item_count=item_count,
            evidence=evidence,
        )
        submission = self._send_stored(document_id, payload)
        if preview is not None:
            submission = _with_preview(submission, preview)
        return submission

    def _send_stored(self, document_id: str, payload: etree._Element | None = None) -> Submission:
        gateway = self._gateway_settings()
        store = self.store
        message_id = store.record_queued(document_id, service_id=gateway.service_id, route_id=gateway.route_id)
        if payload is None:
            payload = self._card_payload(store.signed_xml(document_id), store.evidence(document_id))
        attempt = store.record_attempt(message_id)

        try:
            result = self.transport.send_message(
                payload,
                message_id=message_id,
                service_id=gateway.service_id,
                route_id=gateway.route_id,
            )
        except TransientTransportError as exc:
            store.record_retrying(message_id, str(exc))
            logger.warning("message %s: state retrying after attempt %d: %s", message_id, attempt, exc)
            return self._submission(document_id, message_id)
        except GatewayFault as exc:
            if self._after_send_hook is not None:
                self._after_send_hook(message_id)
            store.record_failed(message_id, str(exc), code=exc.code)
            logger.error("message %s: state failed: %s", message_id, exc)
            return self._submission(document_id, message_id, code=exc.code)
        except TransportError as exc:
            store.record_retrying(message_id, str(exc))
            logger.warning("message %s: state retrying after attempt %d: %s", message_id, attempt, exc)
            return self._submission(document_id, message_id)

        if self._after_send_hook is not None:
            self._after_send_hook(message_id)
        status = result.status
        if status.ok:
            store.record_sent(message_id, code=status.code, message=status.message or None)
            logger.info("message %s: state sent (%s)", message_id, status.code)
        else:
            store.record_failed(message_id, f"{status.code}: {status.message}", code=status.code)
            logger.error("message %s: state failed (%s: %s)", message_id, status.code, status.message)
        return self._submission(document_id, message_id, code=status.code)

    def _submission(self, document_id: str, message_id: str, *, code: str | None = None) -> Submission:
        status = self.store.status(document_id)
        return Submission(
            document_id=document_id,
            message_id=message_id,
            kind=status.kind,
            number=status.number,
            state=status.state,
            xml_sha256=status.xml_sha256,
            response_code=code,
            reason=status.reason,
        )

    def _card_payload(self, signed_xml: bytes, evidence: Sequence[StoredEvidence]) -> etree._Element:
        from .card import AttachedFile, build_card

        files = [AttachedFile(item.file_name, item.media_type, item.content) for item in evidence]
        card = build_card(signed_xml, evidence=files, max_bytes=self.config.documents.max_xml_bytes)
        # The card was serialised here, so its large base64 text nodes (a
        # notification of 100,000 facts exceeds libxml2's 10 MB default) are safe to parse.
        parser = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)
        return etree.fromstring(card.to_xml(), parser)

    def _render_preview(self, document: Document, path: Path) -> Path:
        from ..render import render_preview

        return render_preview(document, path)

    # -- tracking ------------------------------------------------------------------

    def status(self, identifier: str) -> DocumentStatus:
        """Return the status of a document named by its id, message id or number."""
        return self.store.status(identifier)

    def recent(self, limit: int = 20) -> tuple[DocumentStatus, ...]:
        """Return the documents recorded last, newest first."""
        return self.store.recent(limit)

    def timeline(self, identifier: str) -> tuple[Any, ...]:
        """Return every state the document passed through, with times."""
        return self.store.timeline(identifier)

    def watch(
        self,
        identifier: str,
        *,
        timeout: float | None = None,
        poll_seconds: float | None = None,
        progress: Callable[[DocumentStatus], None] | None = None,
    ) -> DocumentStatus:
        """Wait until the document reaches a final state or ``timeout`` seconds pass; return its last status.

        In pull mode each round pulls receipts first, and a transient failure
        of that pull is logged and retried in the next round. ``progress`` is
        called with the status once at the start and again at every change of state.
        """
        limit = self.settings.watch_timeout_seconds if timeout is None else timeout
        interval = self.settings.watch_poll_seconds if poll_seconds is None else poll_seconds
        deadline = time.monotonic() + limit
        seen: tuple[DocumentState, int] | None = None
        while True:
            if self.settings.receipts == "pull":
                try:
                    self.pull_receipts()
                except TransientTransportError as exc:
                    # The gateway may come back before the deadline, so the next round pulls again.
                    logger.warning("pulling receipts for %s failed, trying again in %.1f s: %s", identifier, interval, exc)
            current = self.store.status(identifier)
            marker = (current.state, current.confirmed + current.rejected)
            if marker != seen and progress is not None:
                progress(current)
            seen = marker
            remaining = deadline - time.monotonic()
            if current.final or remaining <= 0:
                return current
            time.sleep(min(interval, remaining))

    # -- receipts ------------------------------------------------------------------

    def pull_receipts(self, *, amount: int | None = None) -> PullResult:
        """Fetch waiting receipts, verify, store and acknowledge each one.

        A receipt is acknowledged (``sendDeliveryNotification``) only after it
        is stored. One that fails verification is stored as invalid and
        acknowledged as not accepted, so the gateway stops offering it.
        """
        batch = self.settings.pull_batch if amount is None else amount
        messages = self.transport.get_messages(service_id=self.settings.receipt_service_id, amount=batch or None)
        accepted: list[ReceiptRecord] = []
        rejected: list[RejectedReceipt] = []
        for message in messages:
            gateway_message_id = message.info.message_id or ""
            outcome = self.take_receipt_message(message.payload, gateway_message_id=gateway_message_id)
            if isinstance(outcome, RejectedReceipt):
                rejected.append(outcome)
                self._acknowledge(gateway_message_id, accepted=False, error=outcome.error)
            else:
                accepted.append(outcome)
                self._acknowledge(gateway_message_id, accepted=True)
        if messages:
            logger.info("pulled %d receipt(s): %d accepted, %d rejected", len(messages), len(accepted), len(rejected))
        return PullResult(tuple(accepted), tuple(rejected))

    def take_receipt_message(self, payload: etree._Element | None, *, gateway_message_id: str) -> ReceiptRecord | RejectedReceipt:
        """Unwrap the signed receipt from a message payload, then verify and store it (see :meth:`take_receipt`)."""
        from .receipts import unwrap_receipt_message

        if payload is None:
            error = InvalidDocumentError([Problem("receipt-message", N_("the message carries no receipt"))], source="receipt")
            return self._reject_receipt(gateway_message_id, b"", error)
        try:
            raw = unwrap_receipt_message(payload)
        except InvalidDocumentError as exc:
            return self._reject_receipt(gateway_message_id, etree.tostring(payload), exc)
        return self.take_receipt(raw, gateway_message_id=gateway_message_id)

    def _reject_receipt(self, gateway_message_id: str, raw: bytes, error: EdmsAdapterError) -> RejectedReceipt:
        reason = str(error)
        logger.warning("receipt %s rejected: %s", gateway_message_id, reason)
        self.store.record_invalid_receipt(gateway_message_id=gateway_message_id, raw=raw, problem=reason)
        return RejectedReceipt(gateway_message_id, error)

    def take_receipt(self, raw: bytes, *, gateway_message_id: str) -> ReceiptRecord | RejectedReceipt:
        """Verify one receipt and store it; the document changes state only when it is valid."""
        from .receipts import ReceiptKind, verify_receipt

        try:
            receipt = verify_receipt(raw, **self._receipt_trust())
            self._check_reference(receipt)
        except (VerificationError, InvalidDocumentError) as exc:
            return self._reject_receipt(gateway_message_id, raw, exc)

        reason: str | None = None
        if receipt.kind is ReceiptKind.REFUSED:
            code = f"{int(receipt.refusal_reason)}" if receipt.refusal_reason is not None else None
            reason = ": ".join(part for part in (code, receipt.refusal_text) if part) or None
        record = self.store.record_receipt(
            gateway_message_id=gateway_message_id or receipt.id,
            raw=raw,
            referenced_message_id=receipt.document.message_id,
            kind=receipt.kind.value,
            signer=receipt.signer.subject.rfc4514_string() if receipt.signer is not None else None,
            issued_at=receipt.issued_at,
            registration_number=receipt.registration_number,
            registration_date=receipt.registration_date,
            reason=reason,
            decisions=[(item.fact, item.outcome.value, item.justification) for item in receipt.decisions],
        )
        logger.info("receipt %s (gateway message %s): %s for message %s", receipt.id, gateway_message_id, receipt.kind.value, receipt.document.message_id)
        return record

    def _check_reference(self, receipt: Any) -> None:
        """Reject a receipt whose document digest differs from the document sent under its message id."""
        try:
            sent = self.store.status(receipt.document.message_id)
        except NotFoundError:
            return
        if sent.message_id == receipt.document.message_id and sent.xml_sha256 != receipt.document.sha256:
            raise VerificationError(
                N_("the receipt refers to message {message_id} with SHA-256 {actual}, but the document sent under it has SHA-256 {expected}"),
                message_id=receipt.document.message_id,
                actual=receipt.document.sha256,
                expected=sent.xml_sha256,
            )

    def handle_pushed_receipt(self, payload: etree._Element | None, *, gateway_message_id: str) -> ReceiptRecord | RejectedReceipt:
        """Take in a receipt message the receiving side pushed with ``SendMessage``; see :meth:`take_receipt`."""
        return self.take_receipt_message(payload, gateway_message_id=gateway_message_id)

    def _acknowledge(self, gateway_message_id: str, *, accepted: bool, error: EdmsAdapterError | None = None) -> None:
        from ..transport.messages import ErrorInfo

        info = None
        if error is not None:
            info = ErrorInfo(code=RECEIPT_REJECTED_CODE, message=str(error)[:250], date=dt.datetime.now(dt.UTC))
        self.transport.send_delivery_notification(
            gateway_message_id,
            accepted=accepted,
            error=info,
            service_id=self.settings.receipt_service_id,
        )

    def _receipt_trust(self) -> dict[str, Any]:
        certificates = self.receiver_certificates()
        if certificates:
            return {"certificates": certificates}
        return {"trust_settings": self.config, "at": dt.datetime.now(dt.UTC)}

    def receiver_certificates(self) -> tuple[x509.Certificate, ...]:
        """Return the configured receipt-signing certificates of the authorised body (may be empty)."""
        if self._receiver_certificates is None:
            path_setting = self.settings.receiver_certificate
            self._receiver_certificates = (load_certificate(self.config.resolve_path(path_setting)),) if path_setting else ()
        return self._receiver_certificates

    # -- roster --------------------------------------------------------------------

    def roster_due(self, *, today: dt.date | None = None) -> RosterDue:
        """Tell whether a new staff roster is due: none sent yet, or the last one older than the interval."""
        interval = self.settings.roster_interval_days
        day = today or dt.date.today()
        last = self.store.last_sent(DocumentKind.ROSTER.value)
        if last is None:
            return RosterDue(due=True, interval_days=interval)
        age = (day - last.document_date).days
        due_date = last.document_date + dt.timedelta(days=interval)
        if age > interval:
            logger.warning("the last staff roster %s is %d days old; a new one is due since %s", last.number, age, due_date)
        return RosterDue(due=age > interval, interval_days=interval, last=last, age_days=age, due_date=due_date)

    def _gateway_settings(self) -> Any:
        from ..transport import GatewaySettings

        return GatewaySettings.from_config(self.config)




class ReceiptPushHandler(BaseChannelHandler):
    """Channel handler of ``serve --role sender``: takes receipts the receiving side pushes by ``SendMessage``.

    Only ``SendMessage`` is served; the other operations of
    :class:`~adapter.service.soap.BaseChannelHandler` respond with a fault.
    A receipt that fails verification gets a fault whose code
    is :data:`RECEIPT_REJECTED_CODE`.
    """

    def __init__(self, client: SenderClient) -> None:
        self.client = client

    def send_message(self, request: RequestInfo, payload: etree._Element | None, caller: Caller) -> SyncReply:
        outcome = self.client.handle_pushed_receipt(payload, gateway_message_id=request.message_id)
        if isinstance(outcome, RejectedReceipt):
            raise GatewayFault(
                N_("receipt {message_id} rejected: {reason}"),
                code=RECEIPT_REJECTED_CODE,
                message_id=request.message_id,
                reason=outcome.error,
            )
        return SyncReply(status=Status())

    def trust_sender(self, certificate: x509.Certificate) -> bool:
        """Accept a WS-Security signature by a configured receiver certificate, else by any certificate trusted by ``[trust]``."""
        pinned = self.client.receiver_certificates()
        if pinned:
            return certificate in pinned
        from signing.trust import validate_path

        result = validate_path(certificate, at=dt.datetime.now(dt.UTC), settings=self.client.config)
        return bool(result.valid)


def create_push_app(config: Config, *, client: SenderClient | None = None) -> Any:
    """Build the WSGI application of ``serve --role sender``, which takes pushed receipts."""
    from ..service.soap import SoapApplication
    from ..transport.settings import ServiceSettings

    handler = ReceiptPushHandler(client or SenderClient(config))
    return SoapApplication(handler, config.section("service", ServiceSettings), trust=handler.trust_sender)


def load_signer_from_config(
    config: Config,
    *,
    key: str | None = None,
    password_env: str | None = None,
    password_file: str | None = None,
) -> Any:
    """Open the signing key given, else ``[signing] key``, with the password source given or configured.

    A password file wins over an environment variable; without either the
    configured ``password_file``, then ``password_env`` are used.
    """
    from signing.keys import PasswordSource, load_signer
    from signing.settings import SigningSettings

    settings = config.section("signing", SigningSettings)
    spec = key or settings.key
    if not spec:
        raise ConfigError(N_("no signing key is configured; set signing.key to a .p12 file or a pkcs11: URI, or give --key"), key="signing.key")
    if not spec.startswith("pkcs11:") and not key:
        spec = str(config.resolve_path(spec))
    if password_file:
        source = PasswordSource.from_file(password_file)
    elif password_env:
        source = PasswordSource.from_env(password_env)
    elif settings.password_file:
        source = PasswordSource.from_file(config.resolve_path(settings.password_file))
    else:
        source = PasswordSource.from_env(settings.password_env)
    return load_signer(spec, password=source, module=settings.pkcs11_module or None)


def _with_preview(submission: Submission, preview: Path) -> Submission:
    from dataclasses import replace

    return replace(submission, preview=preview)


def load_certificate(path: Path) -> x509.Certificate:
    """Read a PEM or DER certificate file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            N_("failed to read the receiver certificate {path}: {reason}; check sender.receiver_certificate"),
            key="sender.receiver_certificate",
            path=str(path),
            reason=exc.strerror or type(exc).__name__,
        ) from exc
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise ConfigError(
            N_("the receiver certificate {path} is not a PEM or DER certificate; check sender.receiver_certificate"),
            key="sender.receiver_certificate",
            path=str(path),
        ) from exc


def find_evidence(document: Document, folders: Iterable[Path]) -> tuple[StoredEvidence, ...]:
    """Find each evidence file of a notification by name in ``folders`` and check its SHA-256 and size.

    The folders are searched in order, each with its subfolders. A file
    whose name matches but whose content differs is skipped, so an edited
    screenshot is never sent in place of the signed one.
    """
    if not isinstance(document, Notification) or not document.evidence:
        return ()
    search = [folder for folder in folders if folder.is_dir()]
    found: list[StoredEvidence] = []
    for evidence in document.evidence:
        content = _find_file(evidence.file_name, evidence.sha256, search)
        if content is None:
            raise InputError(
                N_("evidence file {value} with SHA-256 {sha256} was not found in {folders}; put the file that was signed beside the input, or name its folder with --evidence DIR"),
                field=f"evidence[{evidence.number}]",
                value=evidence.file_name,
                sha256=evidence.sha256,
                folders=", ".join(str(folder) for folder in search) or "-",
            )
        found.append(
            StoredEvidence(evidence.number, evidence.file_name, evidence.media_type, len(content), evidence.sha256, content)
        )
    return tuple(found)


def _find_file(name: str, sha256: str, folders: Sequence[Path]) -> bytes | None:
    base_name = Path(name).name
    for folder in folders:
        candidates = [folder / name]
        candidates.extend(path for path in sorted(folder.rglob(base_name)) if path != folder / name)
        for path in candidates:
            if not path.is_file():
                continue
            content = path.read_bytes()
            if hashlib.sha256(content).hexdigest() == sha256:
                return content
    return None

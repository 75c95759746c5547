"""The demo: the whole exchange between a state body and the authorised body on one machine.

:func:`run_demo` needs no setup and sends nothing beyond 127.0.0.1. It

1. issues a test PKI (:class:`signing.testpki.TestPki`) with an OCSP
   responder and a CRL on a loopback port;
2. starts the authorised body's receiving service on a free loopback port;
3. submits the sample notification shipped in ``adapter/samples`` (a copy of
   ``examples/notification.toml`` and its screenshots), signed by the test
   head, through a real zeep client;
4. registers it and decides on its facts as the authorised body's operator:
   every fact confirmed but the last, which is rejected with a justification;
5. pulls the signed receipts, verifies them and returns the timeline.

Sender and receiver keep separate databases under the data folder, as two
organisations would.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import EdmsAdapterError, InputError
from ..i18n import N_, gettext, translate
from ..store.tracking import DocumentStatus, FactDecisionRecord, ReceiptRecord, Transition

__all__ = ["DEMO_SENDER_ID", "DemoResult", "LoopbackExchange", "run_demo", "sample_path"]

#: Gateway participant id of the sending state body in the demo.
DEMO_SENDER_ID = "DEMO_STATE_BODY"

_SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def sample_path(name: str = "notification.toml") -> Path:
    """Return the path of a sample input shipped with the package."""
    return _SAMPLES / name


@dataclass(frozen=True, slots=True)
class DemoResult:
    """Outcome of the demo: the final status, the timeline, the decisions and the receipts.

    ``data_dir`` is the folder kept for inspection, or ``None`` when the demo
    ran in a temporary folder that is gone.
    """

    document_id: str
    status: DocumentStatus
    timeline: tuple[Transition, ...]
    decisions: tuple[FactDecisionRecord, ...]
    receipts: tuple[ReceiptRecord, ...]
    data_dir: Path | None


def run_demo(data_dir: Path | None = None, *, report: Callable[[str], Any] = print) -> DemoResult:
    """Run the demo in ``data_dir`` (kept) or a temporary folder (removed); ``report`` gets one line per step."""
    if data_dir is None:
        folder = Path(tempfile.mkdtemp(prefix="edms-adapter-demo-"))
        try:
            result = _run(folder, report, keep_folder=False)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return result
    if (data_dir / "pki").exists():
        # A second run would issue new keys over the first run's, which other settings may point at.
        raise InputError(
            N_("the folder {value} already holds a demo's test PKI and databases; give --data an empty folder, or remove this one first"),
            field="data",
            value=str(data_dir),
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    result = _run(data_dir.resolve(), report, keep_folder=True)
    return DemoResult(result.document_id, result.status, result.timeline, result.decisions, result.receipts, data_dir.resolve())


class LoopbackExchange:
    """A test PKI, an OCSP responder and the receiving service on 127.0.0.1, for the demo and for tests.

    Use it as a context manager. :meth:`sender_config` returns the
    configuration of a state body that sends to the service, and
    :attr:`registrar` is the authorised body's operator. The test PKI's
    sending organisation and head match the sender and signatory of
    ``sample`` (default: the shipped sample notification), so the sample
    passes the signatory checks.
    """

    def __init__(self, folder: Path, *, sample: Any = None, receiver_settings: dict[str, Any] | None = None) -> None:
        from ..inputs import load_input

        self.folder = folder
        self.sample = sample if sample is not None else load_input(sample_path())
        self._receiver_settings = receiver_settings or {}
        self._responder: Any = None
        self._server: Any = None
        self.inbox: Any = None

    def __enter__(self) -> LoopbackExchange:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start(self) -> None:
        from signing.keys import load_signer
        from signing.testpki import AUTHORISED_BODY_BIN, SENDER_BIN, OcspResponder, TestPki

        from ..service.server import ServerThread
        from .receiver import create_wsgi_app, open_inbox
        from .registrar import Registrar

        self._responder = OcspResponder().start()
        sender = self.sample.header.sender
        self.pki = TestPki.create(
            self.folder / "pki",
            ocsp_url=self._responder.url,
            crl_url=self._responder.crl_url,
            sender_bin=sender.bin or SENDER_BIN,
            sender_name=sender.name_kk,
            head=_head_of(self.sample),
        )
        self._responder.pki = self.pki
        self.trust = {
            "anchors": [str(path) for path in self.pki.trust_anchor_paths],
            "intermediates": [str(self.pki.issuing_ca_path)],
        }
        # Revocation as a deployment would check it: OCSP and the CRL from the
        # URLs in the certificates (the loopback responder), and the root's CRL file.
        self.revocation = {"fetch": True, "crl_files": [str(self.pki.crl_path), str(self.pki.root_crl_path)]}
        receiver_table = {"bin": AUTHORISED_BODY_BIN, "sender_bins": {DEMO_SENDER_ID: self.pki.sender_bin}}
        receiver_table.update(self._receiver_settings)
        self.receiver_config = Config(
            {
                "general": {"data_dir": str(self.folder / "authorised-body")},
                "receiver": receiver_table,
                "trust": self.trust,
                "revocation": self.revocation,
            }
        )
        self.receiver_signer = load_signer(str(self.pki.receiver.p12()), password=self.pki.password)
        self.head_signer = load_signer(str(self.pki.head.p12()), password=self.pki.password)
        self.inbox = open_inbox(self.receiver_config)
        app = create_wsgi_app(self.receiver_config, signer=self.receiver_signer, store=self.inbox)
        self._server = ServerThread(app)
        self.url = self._server.url
        self.registrar = Registrar(self.receiver_config, signer=self.receiver_signer, store=self.inbox)

    def sender_config(self, folder: Path | None = None, **tables: dict[str, Any]) -> Config:
        """Return a sender's configuration for this service; ``tables`` extend or replace its tables."""
        data: dict[str, Any] = {
            "general": {"data_dir": str(folder or self.folder / "state-body")},
            "gateway": {"endpoint": self.url, "sender_id": DEMO_SENDER_ID, "retry_attempts": 2, "retry_base": 0.05},
            "sender": {"receiver_certificate": str(self.pki.receiver.cert_path)},
            "trust": self.trust,
            "revocation": self.revocation,
        }
        for name, table in tables.items():
            data[name] = {**data.get(name, {}), **table}
        return Config(data)

    def inbox_id(self, message_id: str) -> int:
        """Return the inbox id of the document received under ``message_id``."""
        from sqlalchemy import select

        from ..store.inbox import ReceivedDocument

        with self.inbox.session() as session:
            found = session.scalar(select(ReceivedDocument.id).where(ReceivedDocument.message_id == message_id))
        if found is None:
            raise EdmsAdapterError(N_("the receiving service has no document with message id {message_id}"), message_id=message_id)
        return int(found)

    def close(self) -> None:
        """Stop the service and the OCSP responder and close the inbox."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self.inbox is not None:
            self.inbox.close()
            self.inbox = None
        if self._responder is not None:
            self._responder.stop()
            self._responder = None


def _run(folder: Path, report: Callable[[str], Any], *, keep_folder: bool) -> DemoResult:
    from .sender import SenderClient

    with LoopbackExchange(folder) as exchange:
        if keep_folder:
            # For --password-file, so the kept keys can sign and be inspected later.
            password_file = exchange.pki.folder / "password.txt"
            password_file.write_text(exchange.pki.password + "\n", encoding="utf-8")
            password_file.chmod(0o600)
            report(translate(N_("Test PKI issued in {path}; the password of its keys is in {password_file}"), path=str(exchange.pki.folder), password_file=str(password_file)))
        else:
            report(translate(N_("Test PKI issued in {path}, a folder removed at the end (keep it with --data)"), path=str(exchange.pki.folder)))
        report(translate(N_("Receiving service of the authorised body listens at {url}"), url=exchange.url))
        with SenderClient(exchange.sender_config(), signer=exchange.head_signer) as client:
            submission = client.submit(exchange.sample, evidence_folders=[sample_path().parent], resubmit=True)
            report(
                translate(
                    N_("Notification No. {number} signed by the head; state: {state}, message id {message_id}"),
                    number=submission.number,
                    state=gettext(submission.state.label),
                    message_id=submission.message_id,
                )
            )
            if not submission.sent:
                raise EdmsAdapterError(N_("the demo notification was not accepted: {reason}"), reason=submission.reason or "-")

            _register_and_decide(exchange, submission.message_id, report)

            pulled = client.pull_receipts()
            report(translate(N_("Receipts pulled and verified: {accepted} accepted, {rejected} ignored"), accepted=len(pulled.accepted), rejected=len(pulled.rejected)))
            document_id = submission.document_id
            return DemoResult(
                document_id=document_id,
                status=client.status(document_id),
                timeline=client.timeline(document_id),
                decisions=client.store.decisions(document_id),
                receipts=client.store.receipts(document_id),
                data_dir=None,
            )


def _register_and_decide(exchange: LoopbackExchange, message_id: str, report: Callable[[str], Any]) -> None:
    inbox_id = exchange.inbox_id(message_id)
    receipt = exchange.registrar.register(inbox_id)
    report(translate(N_("The authorised body registered it as {number}"), number=receipt.registration_number))

    entry = exchange.registrar.get(inbox_id)
    facts = list(range(1, entry.confirmed + entry.rejected + entry.pending + 1))
    justification = gettext(N_("The resource is a news report about the blocking and carries no prohibited content."))
    exchange.registrar.decide(inbox_id, confirm=facts[:-1], reject=facts[-1:], justification=justification)
    confirmed = f"{facts[0]}-{facts[-2]}" if len(facts) > 2 else str(facts[0])
    report(translate(N_("The authorised body confirmed facts {confirmed} and rejected fact {rejected}"), confirmed=confirmed, rejected=facts[-1]))


def _head_of(document: Any) -> Any:
    """Return the test PKI person whose certificate matches the sample's signatory."""
    from signing.testpki import HEAD, Person

    signatory = document.signatory
    words = signatory.full_name.upper().split()
    if len(words) < 2:
        return HEAD
    patronymic = " ".join(words[2:]) if len(words) > 2 else ""
    return Person(words[0], words[1], patronymic, signatory.iin, HEAD.email)

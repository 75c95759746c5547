"""Reading an XML document or receipt for rendering: parse it, and verify its signature when possible."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from ..codelists import CodeListEntry, load_violation_types
from ..config import Config
from ..errors import DocumentTooLargeError, InputError
from ..i18n import N_
from ..model import Document
from .signature import SignatureState, SignatureSummary

__all__ = ["LoadedDocument", "load_for_rendering"]

logger = logging.getLogger(__name__)

_DS_SIGNATURE = "{http://www.w3.org/2000/09/xmldsig#}Signature"


@dataclass(frozen=True, slots=True)
class LoadedDocument:
    """A document read for rendering, with what is known about its signature.

    ``document`` is a :class:`~adapter.model.Notification`,
    :class:`~adapter.model.Roster` or receipt. ``signature`` is ``None`` for
    an unsigned document and for a verified receipt, whose view describes
    its signer itself.
    """

    document: Any
    signature: SignatureSummary | None
    violation_types: Mapping[str, CodeListEntry] | None


def _read(path: Path, limit: int) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(N_("file {value} not found; check the path"), field="file", value=str(path), code="not-found") from None
    except OSError as exc:
        raise InputError(N_("failed to read {value}: {reason}"), field="file", value=str(path), reason=exc.strerror or str(exc)) from exc
    if size > limit:
        raise DocumentTooLargeError(size=size, limit=limit, source=str(path))
    return path.read_bytes()


def _root(data: bytes, limit: int) -> Any:
    """Parse ``data`` with the hardened parser and return its root element."""
    from ..xml import parse_tree

    tree = parse_tree(data, limit)
    return tree.getroot() if hasattr(tree, "getroot") else tree


def _is_signed(root: Any) -> bool:
    """Return whether ``root`` carries an enveloped ``ds:Signature``."""
    return any(child.tag == _DS_SIGNATURE for child in root)


def trust_configured(config: Config) -> bool:
    """Return whether ``[trust] anchors`` names CA certificates to verify signatures against."""
    table = config.data.get("trust")
    return isinstance(table, Mapping) and bool(table.get("anchors"))


def _verify(data: bytes, config: Config, language: str | None) -> tuple[SignatureSummary, Document | None]:
    """Verify the signature; fall back to "not verified" when no verifier or trust anchors exist."""
    try:
        from signing.verify import verify_document
    except ImportError:
        logger.debug("signing.verify is not available; the signature is shown as not verified")
        return SignatureSummary.not_verified(), None
    if not trust_configured(config):
        logger.debug("no trust anchors are configured; the signature is shown as not verified")
        return SignatureSummary.not_verified(), None
    result = verify_document(data, settings=config)
    covered = getattr(result, "document", None) if getattr(result, "intact", False) else None
    return SignatureSummary.from_verification(result, language=language), covered


def _violation_types(config: Config) -> Mapping[str, CodeListEntry] | None:
    name = config.documents.violation_types_file
    return load_violation_types(config.resolve_path(name)) if name else None


def _receipt_trust(config: Config) -> dict[str, Any] | None:
    """Return the ``verify_receipt`` arguments the configuration allows, or ``None`` when it allows none.

    Like the sender, this pins ``[sender] receiver_certificate`` when it is
    set and else trusts the certification paths of ``[trust] anchors``.
    """
    sender = config.data.get("sender")
    pinned = sender.get("receiver_certificate") if isinstance(sender, Mapping) else None
    if pinned:
        from signing.certificates import load_certificates

        return {"certificates": load_certificates(config.resolve_path(str(pinned)))}
    if trust_configured(config):
        return {"trust_settings": config, "at": dt.datetime.now(dt.UTC)}
    return None


def _load_receipt(data: bytes, root: Any, config: Config, verify: bool) -> LoadedDocument:
    """Parse a receipt and, when it is signed and ``verify`` is true, verify it."""
    from ..errors import VerificationError
    from ..exchange.receipts import parse_receipt, verify_receipt

    if not _is_signed(root):
        return LoadedDocument(parse_receipt(data), None, None)
    trust = _receipt_trust(config) if verify else None
    if trust is None:
        return LoadedDocument(parse_receipt(data), SignatureSummary.not_verified(), None)
    try:
        # The verified receipt carries its signer, which its view shows as valid.
        return LoadedDocument(verify_receipt(data, **trust), None, None)
    except VerificationError as exc:
        from signing.xmldsig import verify_xml_signature

        state = SignatureState.UNTRUSTED if verify_xml_signature(data).intact else SignatureState.INVALID
        return LoadedDocument(parse_receipt(data), SignatureSummary(state, problems=(exc.localized(),)), None)


def load_for_rendering(
    path: Path,
    *,
    config: Config | None = None,
    verify: bool = True,
    language: str | None = None,
) -> LoadedDocument:
    """Parse the XML notification, roster or receipt at ``path`` and, when it is signed and ``verify`` is true, verify it.

    A verified document is rendered from the element its signature covers,
    so the form shows only what was signed.
    """
    from ..exchange.receipts import RECEIPT_NS
    from ..xml import parse_xml

    config = config if config is not None else Config()
    limit = config.documents.max_xml_bytes
    data = _read(path, limit)
    root = _root(data, limit)
    if etree.QName(root).namespace == RECEIPT_NS:
        return _load_receipt(data, root, config, verify)
    document = parse_xml(data, max_bytes=limit)

    signature: SignatureSummary | None = None
    if _is_signed(root):
        if verify:
            signature, covered = _verify(data, config, language)
            document = covered or document
        else:
            signature = SignatureSummary.not_verified()
    return LoadedDocument(document, signature, _violation_types(config))

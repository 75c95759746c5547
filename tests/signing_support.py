"""Documents, keys and configurations shared by the signing tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from adapter.config import Config
from adapter.model import (
    DocumentHeader,
    Employee,
    Fact,
    Language,
    Notification,
    Organisation,
    Roster,
    Signatory,
    SignatoryRole,
    Violation,
)
from signing.keys import load_pkcs12
from signing.testpki import AUTHORISED_BODY_NAME, SENDER_NAME

NCA_PASSWORD = "Qwerty12"


def header(sender_bin: str | None, *, number: str = "17-04/112", day: dt.date = dt.date(2026, 5, 4)) -> DocumentHeader:
    return DocumentHeader(
        number=number,
        date=day,
        language=Language.KK,
        edition="2026-04",
        sender=Organisation(SENDER_NAME, "«Тест облысының цифрлық даму басқармасы» ММ", sender_bin),
        recipient=Organisation(AUTHORISED_BODY_NAME, "Министерство культуры и информации РК (тест)"),
    )


def notification(
    *,
    sender_bin: str | None,
    full_name: str,
    iin: str,
    role: SignatoryRole = SignatoryRole.HEAD,
    facts: int = 3,
) -> Notification:
    return Notification(
        header=header(sender_bin),
        violation=Violation("online-casino", "Қазақстан Республикасының «Ойын бизнесі туралы» Заңы, 6-бап"),
        facts=tuple(
            Fact(number=i, protocol="HTTPS", domain=f"casino-{i}.example", url=f"https://casino-{i}.example/play?ref={i}", ip=f"203.0.113.{i % 250 + 1}")
            for i in range(1, facts + 1)
        ),
        signatory=Signatory("Басқарма басшысы", full_name, iin, role),
    )


def notification_for(identity, *, role: SignatoryRole = SignatoryRole.HEAD, sender_bin: str | None = None, facts: int = 3) -> Notification:
    """A notification whose signatory is the holder of ``identity`` (a TestIdentity)."""
    return notification(sender_bin=sender_bin or identity.bin, full_name=identity.full_name, iin=identity.iin, role=role, facts=facts)


def roster_for(identity, *, role: SignatoryRole = SignatoryRole.EMPLOYEE, sender_bin: str | None = None) -> Roster:
    return Roster(
        header=header(sender_bin or identity.bin, number="17-04/113"),
        employees=(
            Employee(1, "Сейтқали Нұржан Бекұлы", "n.seitkali@example.kz", "+7 701 234 5678"),
            Employee(2, "Иванова Ольга Петровна", "o.ivanova@example.kz", "+7 777 765 4321"),
        ),
        signatory=Signatory("Бас маман", identity.full_name, identity.iin, role),
    )


def signer_for(identity):
    """The PKCS#12 signer of a TestIdentity."""
    return load_pkcs12(identity.p12_path, identity.password)


def pki_config(pki, *, crl: Path | None = None, signatories: list[dict] | None = None, policy: str = "hard-fail") -> Config:
    """Configuration trusting ``pki``'s root CA and checking revocation with its CRL files."""
    signing: dict = {"xades": True}
    if signatories is not None:
        signing["signatories"] = signatories
    data = pki.config_data(policy=policy)
    if crl is not None:
        data["revocation"]["crl_files"] = [str(crl), str(pki.root_crl_path)]
    data["signing"] = signing
    return Config(data)


def nca_config(nca_dir: Path) -> Config:
    """Configuration trusting the real NCA RK test CA and its CRL."""
    return Config(
        {
            "trust": {"anchors": [str(nca_dir / "nca_rsa_test.crt")]},
            "revocation": {"methods": ["crl"], "crl_files": [str(nca_dir / "nca_rsa_test.crl")]},
        }
    )

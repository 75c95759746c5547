"""A generated test PKI shaped like NCA RK's, and an OCSP responder on loopback.

:meth:`TestPki.create` issues, under a self-signed root CA and an issuing CA,
one certificate per role a deployment meets. The sending state body has a
first head, a deputy with signing rights and an ordinary employee; the head
also has an authentication-only key, a revoked key and an expired key. There
are a private individual, the head of another organisation, and
``receiver``: an employee with signing rights of the authorised body (the
Ministry of Culture and Information) who signs receipts. Subjects carry NCA's attributes (CN,
SURNAME, SERIALNUMBER=IIN..., GIVENNAME=patronymic, C=KZ, O, OU=BIN...), the
role EKU OIDs, keyUsage and NCA's certificate policy OIDs. Every key is saved
as a PKCS#12 file in NCA's legacy encryption and in modern encryption, with
PEM certificates and a DER CRL that lists the revoked key.

The names, IINs and BINs are fictional; the IINs and BINs pass the check
digit. The defaults, shared with ``examples/notification.toml``:

=================  ===========================================  ============
identity           name                                         IIN / BIN
=================  ===========================================  ============
sender             «ТЕСТ ОБЛЫСЫНЫҢ ЦИФРЛЫҚ ДАМУ БАСҚАРМАСЫ» ММ  050340001235
head               ТЕСТОВ АСЫЛБЕК НҰРЛАНҰЛЫ                     780412300516
deputy             СЫНАҚОВА ӘЙГЕРІМ БОЛАТҚЫЗЫ                   850903400725
employee           ҮЛГІЕВ ДӘУРЕН САМАТҰЛЫ                       921125301334
individual         ЖЕКЕЕВА ДИНАРА ЕРЛАНҚЫЗЫ                     010217600447
other organisation «ТЕСТ ҚАЛАСЫ ӘКІМДІГІНІҢ АҚПАРАТТАНДЫРУ       110740004565
                   БӨЛІМІ» ММ
other_org_head     БАСҚАЕВ ҚАЙРАТ МАРАТҰЛЫ                      700630302197
authorised body    ҚАЗАҚСТАН РЕСПУБЛИКАСЫ МӘДЕНИЕТ ЖӘНЕ АҚПАРАТ  230940007899
                   МИНИСТРЛІГІ (ТЕСТ)
receiver           ҚАБЫЛДАЕВА ЖАНАР СЕРІКҚЫЗЫ                   880109403055
=================  ===========================================  ============

RSA keys take tens of milliseconds each to generate, so keys come from a
pool kept for the life of the process (and optionally in a folder, see
``key_cache``); only the certificates are issued anew for each PKI.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "AUTHORISED_BODY_BIN",
    "AUTHORISED_BODY_NAME",
    "DEFAULT_CRL_URL",
    "DEFAULT_OCSP_URL",
    "DEFAULT_PASSWORD",
    "DEPUTY",
    "EMPLOYEE",
    "HEAD",
    "INDIVIDUAL",
    "OTHER_ORGANISATION_BIN",
    "OTHER_ORGANISATION_NAME",
    "OTHER_ORG_HEAD",
    "RECEIVER",
    "SENDER_BIN",
    "SENDER_NAME",
    "OcspResponder",
    "P12Encryption",
    "Person",
    "TestIdentity",
    "TestPki",
]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

logger = logging.getLogger(__name__)

DEFAULT_PASSWORD = "Qwerty12"
#: Placeholders written into the certificates; give ``TestPki.create`` the URLs of a running responder.
DEFAULT_OCSP_URL = "http://127.0.0.1:2560/ocsp"
DEFAULT_CRL_URL = "http://127.0.0.1:2560/crl/issuing-ca.crl"

SENDER_NAME = "«ТЕСТ ОБЛЫСЫНЫҢ ЦИФРЛЫҚ ДАМУ БАСҚАРМАСЫ» ММ"
SENDER_BIN = "050340001235"
OTHER_ORGANISATION_NAME = "«ТЕСТ ҚАЛАСЫ ӘКІМДІГІНІҢ АҚПАРАТТАНДЫРУ БӨЛІМІ» ММ"
OTHER_ORGANISATION_BIN = "110740004565"
AUTHORISED_BODY_NAME = "ҚАЗАҚСТАН РЕСПУБЛИКАСЫ МӘДЕНИЕТ ЖӘНЕ АҚПАРАТ МИНИСТРЛІГІ (ТЕСТ)"
AUTHORISED_BODY_BIN = "230940007899"

# NCA RK's OIDs: holder roles (extended key usage) and certificate policies.
_ROLE_INDIVIDUAL = "1.2.398.3.3.4.1.1"
_ROLE_LEGAL_ENTITY = "1.2.398.3.3.4.1.2"
_ROLE_FIRST_HEAD = "1.2.398.3.3.4.1.2.1"
_ROLE_SIGNING_RIGHTS = "1.2.398.3.3.4.1.2.2"
_ROLE_EMPLOYEE = "1.2.398.3.3.4.1.2.5"
_POLICY_CA = "1.2.398.3.3.1.1"
_POLICY_SIGN_LEGAL = "1.2.398.3.3.2.1"
_POLICY_AUTH_LEGAL = "1.2.398.3.3.2.2"
_POLICY_SIGN_INDIVIDUAL = "1.2.398.3.3.2.3"
_POLICY_AUTH_INDIVIDUAL = "1.2.398.3.3.2.4"
_CPS_URL = "http://127.0.0.1/cps"


@dataclass(frozen=True, slots=True)
class Person:
    """A fictional key holder: NCA writes ``CN = SURNAME FIRSTNAME`` and the patronymic in GIVENNAME."""

    surname: str
    first_name: str
    patronymic: str
    iin: str
    email: str

    @property
    def full_name(self) -> str:
        """Surname, first name and patronymic, as a form prints them."""
        return f"{self.surname} {self.first_name} {self.patronymic}"

    @property
    def common_name(self) -> str:
        """The certificate's CN: surname and first name."""
        return f"{self.surname} {self.first_name}"


HEAD = Person("ТЕСТОВ", "АСЫЛБЕК", "НҰРЛАНҰЛЫ", "780412300516", "a.testov@example.com")
DEPUTY = Person("СЫНАҚОВА", "ӘЙГЕРІМ", "БОЛАТҚЫЗЫ", "850903400725", "a.synakova@example.com")
EMPLOYEE = Person("ҮЛГІЕВ", "ДӘУРЕН", "САМАТҰЛЫ", "921125301334", "d.ulgiev@example.com")
INDIVIDUAL = Person("ЖЕКЕЕВА", "ДИНАРА", "ЕРЛАНҚЫЗЫ", "010217600447", "d.zhekeeva@example.com")
OTHER_ORG_HEAD = Person("БАСҚАЕВ", "ҚАЙРАТ", "МАРАТҰЛЫ", "700630302197", "k.baskaev@example.com")
RECEIVER = Person("ҚАБЫЛДАЕВА", "ЖАНАР", "СЕРІКҚЫЗЫ", "880109403055", "zh.kabyldaeva@example.com")


class P12Encryption(enum.Enum):
    """Encryption of a PKCS#12 file."""

    #: NCA style: 3DES key and certificate bags, SHA-1 MAC. ``cryptography``
    #: offers no RC2-40, so the certificate bag is 3DES where NCA uses RC2-40.
    LEGACY = "legacy"
    #: PBES2 with AES-256-CBC and a SHA-256 MAC (OpenSSL 3's default).
    MODERN = "modern"


@dataclass(frozen=True, slots=True)
class TestIdentity:
    """One key of the test PKI with its certificate and files."""

    __test__ = False  # not a pytest test class

    name: str
    person: Person | None
    organisation: str | None
    bin: str | None
    certificate: x509.Certificate
    private_key: PrivateKey
    password: str
    #: PKCS#12 file in NCA's legacy encryption (3DES, SHA-1 MAC).
    p12_path: Path
    #: The same key and chain in modern encryption (AES-256, SHA-256 MAC).
    p12_modern_path: Path
    cert_path: Path
    #: Revocation time, for the revoked key.
    revoked_at: dt.datetime | None = None

    @property
    def full_name(self) -> str | None:
        """The holder's surname, first name and patronymic."""
        return self.person.full_name if self.person else None

    @property
    def iin(self) -> str | None:
        """The holder's IIN."""
        return self.person.iin if self.person else None

    @property
    def serial_number(self) -> int:
        """Serial number of the certificate."""
        return self.certificate.serial_number

    def p12(self, encryption: P12Encryption = P12Encryption.LEGACY) -> Path:
        """Return the PKCS#12 file in the given encryption."""
        return self.p12_path if encryption is P12Encryption.LEGACY else self.p12_modern_path


@dataclass(frozen=True, slots=True)
class _CertificateAuthority:
    certificate: x509.Certificate
    private_key: PrivateKey
    cert_path: Path


@dataclass(frozen=True, slots=True)
class _Revocation:
    time: dt.datetime
    reason: x509.ReasonFlags


# Keys per (key set, slot), kept for the life of the process.
_key_pool: dict[tuple[str, str], PrivateKey] = {}
_key_pool_lock = threading.Lock()


def _pooled_key(key_set: str, slot: str, *, ec_curve: bool, cache: Path | None) -> PrivateKey:
    with _key_pool_lock:
        pooled = _key_pool.get((key_set, slot))
        if pooled is not None:
            return pooled
        cached = cache / f"{key_set}-{slot}.pem" if cache is not None else None
        if cached is not None and cached.is_file():
            loaded = serialization.load_pem_private_key(cached.read_bytes(), password=None)
            assert isinstance(loaded, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey))
            key: PrivateKey = loaded
        else:
            key = ec.generate_private_key(ec.SECP256R1()) if ec_curve else rsa.generate_private_key(65537, 2048)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_bytes(
                    key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
                )
        _key_pool[(key_set, slot)] = key
        return key


class TestPki:
    """A root CA, an issuing CA, an OCSP responder certificate and the test identities.

    The revocation state (:attr:`revocations`) is what :meth:`crl` lists and
    what :class:`OcspResponder` returns; :meth:`revoke` changes it.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        folder: Path,
        *,
        password: str,
        now: dt.datetime,
        root: _CertificateAuthority,
        issuing: _CertificateAuthority,
        ocsp_signer: _CertificateAuthority,
        identities: dict[str, TestIdentity],
        ocsp_url: str,
        crl_url: str,
        delta_crl_url: str | None = None,
    ) -> None:
        self.folder = folder
        self.password = password
        self.now = now
        self.root_ca = root.certificate
        self.root_ca_path = root.cert_path
        self.issuing_ca = issuing.certificate
        self.issuing_ca_path = issuing.cert_path
        self.ocsp_responder_cert = ocsp_signer.certificate
        self.ocsp_responder_cert_path = ocsp_signer.cert_path
        self.ocsp_url = ocsp_url
        self.crl_url = crl_url
        self.delta_crl_url = delta_crl_url
        self.identities = identities
        self._root_key = root.private_key
        self._issuing_key = issuing.private_key
        self._ocsp_key = ocsp_signer.private_key
        self._lock = threading.Lock()
        self.revocations: dict[int, _Revocation] = {}
        for identity in identities.values():
            if identity.revoked_at is not None:
                self.revocations[identity.serial_number] = _Revocation(identity.revoked_at, x509.ReasonFlags.key_compromise)
        self.crl_path = folder / "issuing-ca.crl"
        self.root_crl_path = folder / "root-ca.crl"
        self.write_crl()
        self.root_crl_path.write_bytes(self._sign_crl(root.certificate, root.private_key, {}, now - dt.timedelta(hours=1), now + dt.timedelta(days=30)))

    # The identities by role, for readable tests.
    @property
    def head(self) -> TestIdentity:
        """The first head of the sender (EKU first head), RSA signing key."""
        return self.identities["head"]

    @property
    def head_ec(self) -> TestIdentity:
        """The same first head with an EC P-256 signing key."""
        return self.identities["head_ec"]

    @property
    def deputy(self) -> TestIdentity:
        """A deputy head of the sender (EKU signing rights)."""
        return self.identities["deputy"]

    @property
    def employee(self) -> TestIdentity:
        """An ordinary employee of the sender with a signing key (EKU employee)."""
        return self.identities["employee"]

    @property
    def individual(self) -> TestIdentity:
        """A private individual's signing key (EKU individual, no organisation)."""
        return self.identities["individual"]

    @property
    def auth_only(self) -> TestIdentity:
        """The head's authentication key (clientAuth, no nonRepudiation): never a signing key."""
        return self.identities["auth_only"]

    @property
    def revoked(self) -> TestIdentity:
        """A signing key of the head, revoked (key compromise) one day before :attr:`now`."""
        return self.identities["revoked"]

    @property
    def expired(self) -> TestIdentity:
        """A signing key of the head valid from two years to one year before :attr:`now`."""
        return self.identities["expired"]

    @property
    def other_org_head(self) -> TestIdentity:
        """The first head of another organisation."""
        return self.identities["other_org_head"]

    @property
    def receiver(self) -> TestIdentity:
        """An employee with signing rights of the authorised body, who signs receipts."""
        return self.identities["receiver"]

    @property
    def sender_bin(self) -> str:
        """BIN of the sending state body (head, deputy, employee, revoked and expired keys)."""
        bin_value = self.head.bin
        assert bin_value is not None
        return bin_value

    @property
    def trust_anchor_paths(self) -> tuple[Path, ...]:
        """The root CA certificate, for ``[trust] anchors``."""
        return (self.root_ca_path,)

    def config_data(self, *, policy: str = "hard-fail", ocsp_url: str | None = None) -> dict[str, dict[str, object]]:
        """Return configuration tables that trust this PKI and check revocation against its CRL files.

        ``adapter.config.Config(pki.config_data())`` gives a configuration for
        tests; ``ocsp_url`` adds an OCSP responder, asked before the CRL.
        """
        revocation: dict[str, object] = {"policy": policy, "crl_files": [str(self.crl_path), str(self.root_crl_path)]}
        if ocsp_url is not None:
            revocation["ocsp_url"] = ocsp_url
        return {
            "general": {"data_dir": str(self.folder / "data")},
            "trust": {"anchors": [str(self.root_ca_path)], "intermediates": [str(self.issuing_ca_path)]},
            "revocation": revocation,
        }

    @classmethod
    def create(
        cls,
        folder: str | Path,
        *,
        password: str = DEFAULT_PASSWORD,
        sender_bin: str = SENDER_BIN,
        sender_name: str = SENDER_NAME,
        head: Person = HEAD,
        deputy: Person = DEPUTY,
        head_iin: str | None = None,
        deputy_iin: str | None = None,
        ocsp_url: str = DEFAULT_OCSP_URL,
        crl_url: str = DEFAULT_CRL_URL,
        delta_crl_url: str | None = None,
        now: dt.datetime | None = None,
        key_set: str = "default",
        key_cache: str | Path | None = None,
    ) -> TestPki:
        """Issue the test PKI into ``folder`` and return it.

        ``key_set`` selects another set of pooled keys, for a second PKI that
        must not share keys with the first (an untrusted CA). ``key_cache``
        keeps the generated keys as unencrypted PEM files in that folder, so
        later processes skip generating them. ``delta_crl_url`` puts a freshest
        CRL extension naming that URL into the end-entity certificates, as NCA does.
        """
        base = Path(folder)
        base.mkdir(parents=True, exist_ok=True)
        moment = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
        cache = Path(key_cache) if key_cache is not None else None
        if head_iin is not None:
            head = Person(head.surname, head.first_name, head.patronymic, head_iin, head.email)
        if deputy_iin is not None:
            deputy = Person(deputy.surname, deputy.first_name, deputy.patronymic, deputy_iin, deputy.email)

        def key(slot: str, *, ec_curve: bool = False) -> PrivateKey:
            return _pooled_key(key_set, slot, ec_curve=ec_curve, cache=cache)

        issuer = _Issuer(base, password, moment, ocsp_url, crl_url, delta_crl_url)
        root = issuer.root_ca(key("root-ca"))
        issuing = issuer.issuing_ca(root, key("issuing-ca"))
        ocsp_signer = issuer.ocsp_signer(issuing, key("ocsp-responder"))

        year = dt.timedelta(days=365)
        specs = [
            _Spec("head", head, sender_name, sender_bin, [_ROLE_FIRST_HEAD]),
            _Spec("head_ec", head, sender_name, sender_bin, [_ROLE_FIRST_HEAD], ec_curve=True),
            _Spec("deputy", deputy, sender_name, sender_bin, [_ROLE_SIGNING_RIGHTS]),
            _Spec("employee", EMPLOYEE, sender_name, sender_bin, [_ROLE_EMPLOYEE]),
            _Spec("individual", INDIVIDUAL, None, None, []),
            _Spec("auth_only", head, sender_name, sender_bin, [_ROLE_FIRST_HEAD], authentication=True),
            _Spec("revoked", head, sender_name, sender_bin, [_ROLE_FIRST_HEAD], revoked_at=moment - dt.timedelta(days=1)),
            _Spec("expired", head, sender_name, sender_bin, [_ROLE_FIRST_HEAD], not_before=moment - 2 * year, not_after=moment - year),
            _Spec("other_org_head", OTHER_ORG_HEAD, OTHER_ORGANISATION_NAME, OTHER_ORGANISATION_BIN, [_ROLE_FIRST_HEAD]),
            _Spec("receiver", RECEIVER, AUTHORISED_BODY_NAME, AUTHORISED_BODY_BIN, [_ROLE_SIGNING_RIGHTS]),
        ]
        identities = {spec.name: issuer.end_entity(spec, issuing, root, key(spec.name, ec_curve=spec.ec_curve)) for spec in specs}
        return cls(
            base,
            password=password,
            now=moment,
            root=root,
            issuing=issuing,
            ocsp_signer=ocsp_signer,
            identities=identities,
            ocsp_url=ocsp_url,
            crl_url=crl_url,
            delta_crl_url=delta_crl_url,
        )

    def revoke(self, identity: TestIdentity | x509.Certificate, *, at: dt.datetime, reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise) -> None:
        """Mark a certificate revoked from ``at``; call :meth:`write_crl` to publish a new CRL file."""
        certificate = identity.certificate if isinstance(identity, TestIdentity) else identity
        with self._lock:
            self.revocations[certificate.serial_number] = _Revocation(at, reason)

    def is_issued_here(self, serial_number: int) -> bool:
        """Return whether the issuing CA issued a certificate with this serial number."""
        return any(identity.serial_number == serial_number for identity in self.identities.values()) or serial_number == self.ocsp_responder_cert.serial_number

    def crl(
        self,
        *,
        this_update: dt.datetime | None = None,
        next_update: dt.datetime | None = None,
        signed_by_root: bool = False,
        number: int | None = None,
        delta_of: int | None = None,
        scope: x509.IssuingDistributionPoint | None = None,
    ) -> bytes:
        """Return a DER CRL of the issuing CA listing the current revocations.

        ``signed_by_root`` signs it with the root key while naming the
        issuing CA, for tests of a CRL with a wrong signature. ``number`` is
        the CRL number (default: ``this_update`` in seconds). ``delta_of``
        makes it a delta CRL on the complete CRL of that number, and ``scope``
        limits what it covers with an issuing distribution point.
        """
        this_update = this_update or self.now - dt.timedelta(hours=1)
        next_update = next_update or self.now + dt.timedelta(days=7)
        with self._lock:
            revocations = dict(self.revocations)
        key = self._root_key if signed_by_root else self._issuing_key
        return self._sign_crl(self.issuing_ca, key, revocations, this_update, next_update, number=number, delta_of=delta_of, scope=scope)

    def write_crl(self, **crl_options: dt.datetime | bool | None) -> Path:
        """Write :meth:`crl` to :attr:`crl_path` and return the path."""
        self.crl_path.write_bytes(self.crl(**crl_options))  # type: ignore[arg-type]
        return self.crl_path

    @staticmethod
    def _sign_crl(
        issuer: x509.Certificate,
        key: PrivateKey,
        revocations: dict[int, _Revocation],
        this_update: dt.datetime,
        next_update: dt.datetime,
        *,
        number: int | None = None,
        delta_of: int | None = None,
        scope: x509.IssuingDistributionPoint | None = None,
    ) -> bytes:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.subject)
            .last_update(this_update)
            .next_update(next_update)
            .add_extension(x509.CRLNumber(number if number is not None else int(this_update.timestamp())), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
        )
        if delta_of is not None:
            builder = builder.add_extension(x509.DeltaCRLIndicator(delta_of), critical=True)
        if scope is not None:
            builder = builder.add_extension(scope, critical=True)
        for serial_number, revocation in sorted(revocations.items()):
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(serial_number)
                .revocation_date(revocation.time)
                .add_extension(x509.CRLReason(revocation.reason), critical=False)
                .build()
            )
            builder = builder.add_revoked_certificate(entry)
        return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def ocsp_response(
        self,
        request: ocsp.OCSPRequest,
        *,
        delegated: bool = True,
        next_update: dt.timedelta | None = dt.timedelta(hours=1),
        now: dt.datetime | None = None,
    ) -> ocsp.OCSPResponse:
        """Build the OCSP response to ``request`` from the current revocation state.

        The response is signed by the delegated OCSP responder certificate, or
        by the issuing CA itself when ``delegated`` is false. A request for
        another issuer, or for a serial number this CA never issued, gets the
        status ``unknown``.
        """
        moment = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
        issuer_name_hash, issuer_key_hash = _issuer_hashes(self.issuing_ca, request.hash_algorithm)
        ours = request.issuer_name_hash == issuer_name_hash and request.issuer_key_hash == issuer_key_hash
        with self._lock:
            revocation = self.revocations.get(request.serial_number)
        revocation_time = None
        revocation_reason = None
        if not ours or not self.is_issued_here(request.serial_number):
            status = ocsp.OCSPCertStatus.UNKNOWN
        elif revocation is not None and revocation.time <= moment:
            status = ocsp.OCSPCertStatus.REVOKED
            revocation_time = revocation.time
            revocation_reason = revocation.reason
        else:
            status = ocsp.OCSPCertStatus.GOOD
        signer_cert, signer_key = (self.ocsp_responder_cert, self._ocsp_key) if delegated else (self.issuing_ca, self._issuing_key)
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                issuer_name_hash=request.issuer_name_hash,
                issuer_key_hash=request.issuer_key_hash,
                serial_number=request.serial_number,
                algorithm=request.hash_algorithm,
                cert_status=status,
                this_update=moment,
                next_update=moment + next_update if next_update is not None else None,
                revocation_time=revocation_time,
                revocation_reason=revocation_reason,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, signer_cert)
        )
        if delegated:
            builder = builder.certificates([signer_cert])
        for extension in request.extensions:
            if isinstance(extension.value, x509.OCSPNonce):
                builder = builder.add_extension(extension.value, critical=False)
        return builder.sign(signer_key, hashes.SHA256())


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    person: Person
    organisation: str | None
    bin: str | None
    roles: list[str]
    ec_curve: bool = False
    authentication: bool = False
    revoked_at: dt.datetime | None = None
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None


@dataclass
class _Issuer:
    """Issue and save the certificates of one test PKI."""

    folder: Path
    password: str
    now: dt.datetime
    ocsp_url: str
    crl_url: str
    delta_crl_url: str | None = None
    _next_serial: Iterator[int] = field(init=False)

    def __post_init__(self) -> None:
        # Serial numbers unique per PKI and distinct between PKIs made at other times.
        base = int(self.now.timestamp()) << 24
        self._next_serial = iter(range(base + 1, base + 1_000_000))

    def _save_cert(self, certificate: x509.Certificate, name: str) -> Path:
        path = self.folder / f"{name}.pem"
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return path

    def root_ca(self, key: PrivateKey) -> _CertificateAuthority:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ТЕСТ НЕГІЗГІ КО (RSA)"), x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ")])
        builder = (
            self._base(subject, subject, key.public_key(), self.now - dt.timedelta(days=3650), self.now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        certificate = builder.sign(key, hashes.SHA256())
        return _CertificateAuthority(certificate, key, self._save_cert(certificate, "root-ca"))

    def issuing_ca(self, root: _CertificateAuthority, key: PrivateKey) -> _CertificateAuthority:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ТЕСТ ҰКО (RSA)"), x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ")])
        builder = (
            self._base(subject, root.certificate.subject, key.public_key(), self.now - dt.timedelta(days=3000), self.now + dt.timedelta(days=3000))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(_authority_key_id(root.certificate), critical=False)
            .add_extension(_policies(_POLICY_CA), critical=False)
        )
        certificate = builder.sign(root.private_key, hashes.SHA256())
        return _CertificateAuthority(certificate, key, self._save_cert(certificate, "issuing-ca"))

    def ocsp_signer(self, issuing: _CertificateAuthority, key: PrivateKey) -> _CertificateAuthority:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ТЕСТ ҰКО OCSP"), x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ")])
        builder = (
            self._base(subject, issuing.certificate.subject, key.public_key(), self.now - dt.timedelta(days=30), self.now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
            .add_extension(x509.OCSPNoCheck(), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(_authority_key_id(issuing.certificate), critical=False)
        )
        certificate = builder.sign(issuing.private_key, hashes.SHA256())
        return _CertificateAuthority(certificate, key, self._save_cert(certificate, "ocsp-responder"))

    def end_entity(self, spec: _Spec, issuing: _CertificateAuthority, root: _CertificateAuthority, key: PrivateKey) -> TestIdentity:
        person = spec.person
        attributes = [
            x509.NameAttribute(NameOID.COMMON_NAME, person.common_name),
            x509.NameAttribute(NameOID.SURNAME, person.surname),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, f"IIN{person.iin}"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
        ]
        if spec.organisation is not None and spec.bin is not None:
            attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec.organisation))
            attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"BIN{spec.bin}"))
        attributes.append(x509.NameAttribute(NameOID.GIVEN_NAME, person.patronymic))

        legal_entity = spec.bin is not None
        role_oids = [_ROLE_LEGAL_ENTITY, *spec.roles] if legal_entity else [_ROLE_INDIVIDUAL]
        if spec.authentication:
            usage_oid = ExtendedKeyUsageOID.CLIENT_AUTH
            key_usage = _key_usage(digital_signature=True, key_encipherment=isinstance(key, rsa.RSAPrivateKey))
            policy = _POLICY_AUTH_LEGAL if legal_entity else _POLICY_AUTH_INDIVIDUAL
        else:
            usage_oid = ExtendedKeyUsageOID.EMAIL_PROTECTION
            key_usage = _key_usage(digital_signature=True, content_commitment=True)
            policy = _POLICY_SIGN_LEGAL if legal_entity else _POLICY_SIGN_INDIVIDUAL

        not_before = spec.not_before or self.now - dt.timedelta(days=30)
        not_after = spec.not_after or self.now + dt.timedelta(days=365)
        builder = (
            self._base(x509.Name(attributes), issuing.certificate.subject, key.public_key(), not_before, not_after)
            .add_extension(key_usage, critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage_oid, *(x509.ObjectIdentifier(oid) for oid in role_oids)]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(_authority_key_id(issuing.certificate), critical=False)
            .add_extension(_policies(policy), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(person.email)]), critical=False)
            .add_extension(
                x509.CRLDistributionPoints([x509.DistributionPoint([x509.UniformResourceIdentifier(self.crl_url)], None, None, None)]),
                critical=False,
            )
            .add_extension(
                x509.AuthorityInformationAccess(
                    [x509.AccessDescription(x509.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(self.ocsp_url))]
                ),
                critical=False,
            )
        )
        if self.delta_crl_url is not None:
            delta_point = x509.DistributionPoint([x509.UniformResourceIdentifier(self.delta_crl_url)], None, None, None)
            builder = builder.add_extension(x509.FreshestCRL([delta_point]), critical=False)
        certificate = builder.sign(issuing.private_key, hashes.SHA256())
        chain = [issuing.certificate, root.certificate]
        return TestIdentity(
            name=spec.name,
            person=person,
            organisation=spec.organisation,
            bin=spec.bin,
            certificate=certificate,
            private_key=key,
            password=self.password,
            p12_path=self._save_p12(spec.name, key, certificate, chain, P12Encryption.LEGACY),
            p12_modern_path=self._save_p12(f"{spec.name}-aes", key, certificate, chain, P12Encryption.MODERN),
            cert_path=self._save_cert(certificate, spec.name),
            revoked_at=spec.revoked_at,
        )

    def _base(
        self, subject: x509.Name, issuer: x509.Name, public_key: object, not_before: dt.datetime, not_after: dt.datetime
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)  # type: ignore[arg-type]
            .serial_number(next(self._next_serial))
            .not_valid_before(not_before)
            .not_valid_after(not_after)
        )

    def _save_p12(
        self, name: str, key: PrivateKey, certificate: x509.Certificate, chain: Sequence[x509.Certificate], encryption: P12Encryption
    ) -> Path:
        if encryption is P12Encryption.LEGACY:
            algorithm = (
                serialization.PrivateFormat.PKCS12.encryption_builder()
                .kdf_rounds(2048)
                .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
                .hmac_hash(hashes.SHA1())
                .build(self.password.encode())
            )
        else:
            algorithm = (
                serialization.PrivateFormat.PKCS12.encryption_builder()
                .kdf_rounds(2048)
                .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
                .hmac_hash(hashes.SHA256())
                .build(self.password.encode())
            )
        alias = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()
        data = pkcs12.serialize_key_and_certificates(alias.encode(), key, certificate, list(chain), algorithm)
        path = self.folder / f"{name}.p12"
        path.write_bytes(data)
        return path


def _key_usage(**bits: bool) -> x509.KeyUsage:
    names = (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    )
    return x509.KeyUsage(**{name: bits.get(name, False) for name in names})


def _authority_key_id(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _policies(oid: str) -> x509.CertificatePolicies:
    return x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(oid), [_CPS_URL])])


def _issuer_hashes(issuer: x509.Certificate, algorithm: hashes.HashAlgorithm) -> tuple[bytes, bytes]:
    """Return the OCSP CertID hashes of the issuer's name and public key (RFC 6960, 4.1.1)."""
    name_hash = hashlib.new(algorithm.name, issuer.subject.public_bytes()).digest()
    spki = issuer.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    key_bits = _subject_public_key_bits(spki)
    return name_hash, hashlib.new(algorithm.name, key_bits).digest()


def _subject_public_key_bits(spki: bytes) -> bytes:
    from asn1crypto.keys import PublicKeyInfo

    return PublicKeyInfo.load(spki)["public_key"].contents[1:]


class OcspResponder:
    """An OCSP responder (RFC 6960, over HTTP) for a :class:`TestPki`, on 127.0.0.1 in a thread.

    It takes OCSP requests by POST and by base64 GET at any path, and serves
    the issuing CA's current CRL at ``/crl/<any name>.crl``. Use it as a
    context manager; :attr:`url` is its OCSP URL. It can start before the PKI
    exists, so that the certificates carry its URL::

        with OcspResponder() as responder:
            pki = TestPki.create(folder, ocsp_url=responder.url, crl_url=responder.crl_url)
            responder.pki = pki

    ``delegated`` chooses the signer: the delegated responder certificate
    (true) or the issuing CA itself. :attr:`request_count` counts OCSP requests.
    """

    def __init__(self, pki: TestPki | None = None, *, delegated: bool = True, next_update: dt.timedelta | None = dt.timedelta(hours=1)) -> None:
        self.pki = pki
        self.delegated = delegated
        self.next_update = next_update
        self.request_count = 0
        self.crl_request_count = 0
        #: The delta CRL served at :attr:`delta_crl_url`; none (HTTP 404) until a test sets it.
        self.delta_crl: bytes | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """TCP port the responder listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """OCSP URL of the responder."""
        return f"http://127.0.0.1:{self.port}/ocsp"

    @property
    def crl_url(self) -> str:
        """URL of the issuing CA's CRL on this server."""
        return f"http://127.0.0.1:{self.port}/crl/issuing-ca.crl"

    @property
    def delta_crl_url(self) -> str:
        """URL of :attr:`delta_crl` on this server."""
        return f"http://127.0.0.1:{self.port}/delta-crl/issuing-ca-delta.crl"

    def start(self) -> OcspResponder:
        """Start serving in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="ocsp-responder", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> OcspResponder:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def respond(self, body: bytes) -> bytes:
        """Return the DER OCSP response to a DER OCSP request."""
        self.request_count += 1
        pki = self.pki
        try:
            request = ocsp.load_der_ocsp_request(body)
        except ValueError:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(serialization.Encoding.DER)
        if pki is None:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.TRY_LATER).public_bytes(serialization.Encoding.DER)
        try:
            response = pki.ocsp_response(request, delegated=self.delegated, next_update=self.next_update)
        except Exception:  # noqa: BLE001 - a responder answers internalError rather than dropping the connection
            logger.exception("test OCSP responder failed on serial number %s", request.serial_number)
            return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.INTERNAL_ERROR).public_bytes(serialization.Encoding.DER)
        return response.public_bytes(serialization.Encoding.DER)

    def crl(self) -> bytes | None:
        """Return the current CRL of the PKI, or ``None`` before a PKI is set."""
        self.crl_request_count += 1
        return self.pki.crl() if self.pki is not None else None


def _make_handler(responder: OcspResponder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            self._send(responder.respond(self.rfile.read(length)), "application/ocsp-response")

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.startswith("/delta-crl/"):
                if responder.delta_crl is None:
                    self.send_error(404)
                    return
                self._send(responder.delta_crl, "application/pkix-crl")
                return
            if self.path.startswith("/crl/"):
                crl = responder.crl()
                if crl is None:
                    self.send_error(404)
                    return
                self._send(crl, "application/pkix-crl")
                return
            encoded = unquote(self.path.rsplit("/", 1)[-1])
            try:
                body = base64.b64decode(encoded)
            except ValueError:
                body = b""
            self._send(responder.respond(body), "application/ocsp-response")

        def _send(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
            return

    return Handler


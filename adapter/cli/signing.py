"""CLI commands ``sign``, ``verify`` and ``cert-info``; see :func:`register`.

Passwords and PINs never come from the command line: ``--password-env NAME``
names an environment variable, ``--password-file FILE`` a file, and without
either the command uses ``signing.password_file``, then the variable named by
``signing.password_env`` when it is set, then asks on the terminal.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import click

from ..errors import InputError, UnsupportedKeyError, VerificationError
from ..i18n import N_, gettext as _, translate
from ..outputs import check_output_folder, write_atomically

__all__ = ["register"]


def _password_source(config, password_env: str | None, password_file: str | None, label: str):
    from signing.keys import PasswordSource
    from signing.settings import SigningSettings

    settings = config.section("signing", SigningSettings)
    if password_file:
        return PasswordSource.from_file(password_file)
    if password_env:
        return PasswordSource.from_env(password_env)
    if settings.password_file:
        return PasswordSource.from_file(config.resolve_path(settings.password_file))
    if settings.password_env and settings.password_env in os.environ:
        return PasswordSource.from_env(settings.password_env)
    return PasswordSource.prompt(label)


_password_options = [
    click.option("--password-env", metavar="NAME", default=None, help=N_("Environment variable that contains the key password or token PIN (default: signing.password_env).")),
    click.option("--password-file", type=click.Path(dir_okay=False, exists=True), default=None, help=N_("File whose first line is the key password or token PIN.")),
]


def _with_password_options(command):
    for option in reversed(_password_options):
        command = option(command)
    return command


def _read_input(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(N_("failed to read {value}: {reason}"), field="file", value=path, reason=exc.strerror or type(exc).__name__) from exc


def _parse_time(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    text = value.strip()
    if text.lower() == "now":
        return dt.datetime.now(dt.timezone.utc)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(N_("invalid time {value} for --at; give an ISO 8601 time such as 2026-05-04T10:00:00+05:00"), field="--at", value=value) from exc
    if moment.tzinfo is None:
        raise InputError(N_("the time {value} for --at has no time zone; add one, such as +05:00 or Z"), field="--at", value=value)
    return moment


def _sign(ctx_obj, file: str, key: str | None, output: str | None, xades: bool | None, password_env: str | None, password_file: str | None) -> None:
    from signing.keys import load_signer
    from signing.settings import SigningSettings
    from signing.verify import sign_document

    config = ctx_obj.config
    settings = config.section("signing", SigningSettings)
    key_spec = key or settings.key
    if not key_spec:
        raise click.UsageError(_("no signing key: give --key KEY.p12 or --key pkcs11:..., or set signing.key"))
    if not key_spec.startswith("pkcs11:") and settings.key and key is None:
        key_spec = str(config.resolve_path(key_spec))
    target = Path(output) if output else Path(file).with_suffix(".signed.xml")
    check_output_folder(target)
    source = _password_source(config, password_env, password_file, Path(key_spec).name if not key_spec.startswith("pkcs11:") else "token")
    signer = load_signer(key_spec, password=source, module=settings.pkcs11_module or None)
    try:
        signed = sign_document(_read_input(file), signer, settings=config, xades=xades)
    finally:
        close = getattr(signer, "close", None)
        if close is not None:
            close()
    write_atomically(target, signed)
    click.echo(translate(N_("Signed: {path}"), None, path=str(target)))


def _with_overrides(config, trust_dir: str | None, crl_files: tuple[str, ...]):
    """Return ``config`` with the trust anchors and CRL files given on the command line."""
    from adapter.config import Config

    if trust_dir is None and not crl_files:
        return config
    data = {name: dict(value) if isinstance(value, dict) else value for name, value in dict(config.data).items()}
    if trust_dir is not None:
        trust = dict(data.get("trust", {}))
        trust["anchors"] = [str(Path(trust_dir).resolve())]
        data["trust"] = trust
    if crl_files:
        revocation = dict(data.get("revocation", {}))
        revocation["crl_files"] = [str(Path(path).resolve()) for path in crl_files]
        data["revocation"] = revocation
    return Config(data, path=config.path)


def _yes_no(value: bool | None, yes: str, no: str, unknown: str) -> str:
    if value is None:
        return _(unknown)
    return _(yes) if value else _(no)


def _print_result(result) -> None:
    def line(label: str, value: object) -> None:
        click.echo(f"{_(label)}: {value}")

    line(N_("Signature"), _yes_no(result.intact, N_("intact"), N_("invalid"), N_("unknown")))
    if result.intact:
        line(N_("Certificate"), _yes_no(result.trusted, N_("trusted"), N_("not trusted"), N_("unknown")))
        line(N_("Revocation"), _yes_no(result.revoked, N_("revoked"), N_("not revoked"), N_("unknown")))
        line(N_("Signatory policy"), _yes_no(result.policy_ok, N_("passed"), N_("failed"), N_("unknown")))
    else:
        # The checks below need an intact signature, so a broken one leaves them undone, not failed.
        for label in (N_("Certificate"), N_("Revocation"), N_("Signatory policy")):
            line(label, _("not checked: the signature is invalid"))
    signer = result.signer
    if signer is not None:
        line(N_("Signer"), signer.full_name or "-")
        line(N_("IIN"), signer.iin or "-")
        line(N_("BIN"), signer.bin or "-")
        line(N_("Organisation"), signer.organisation or "-")
        line(N_("Role"), _(_ROLE_LABELS.get(signer.role, signer.role)))
        line(N_("Serial number"), f"{signer.serial_number:x}")
        line(N_("Issuer"), signer.issuer)
    line(N_("Signing time"), result.signing_time.isoformat() if result.signing_time else _("not stated"))
    if result.checked_at is not None:
        line(N_("Checked as of"), result.checked_at.isoformat(timespec="seconds"))
    if result.algorithm is not None:
        line(N_("Algorithm"), result.algorithm.value)
    if result.problems:
        click.echo(_("Problems:"))
        for problem in result.problems:
            click.echo(f"  [{problem.code}] {problem.localized()}")
    if result.warnings:
        click.echo(_("Warnings:"))
        for problem in result.warnings:
            click.echo(f"  [{problem.code}] {problem.localized()}")
    click.echo(_("Result: the document is valid") if result.ok else _("Result: the document is NOT valid"))


_ROLE_LABELS = {
    "head": N_("first head"),
    "signing-rights": N_("person with signing rights"),
    "employee": N_("employee"),
    "individual": N_("individual"),
}


def _print_certificate(info) -> None:
    def line(label: str, value: object) -> None:
        click.echo(f"{_(label)}: {value}")

    line(N_("Holder"), info.full_name or info.subject)
    line(N_("IIN"), info.iin or "-")
    line(N_("BIN"), info.bin or "-")
    line(N_("Organisation"), info.organisation or "-")
    roles = [_(_ROLE_LABELS.get(name, name)) for name in _role_names(info)]
    line(N_("Role"), ", ".join(roles) or "-")
    usage = sorted(bit.value for bit in info.key_usage) if info.key_usage is not None else []
    line(N_("Key usage"), ", ".join(usage) or "-")
    line(N_("Extended key usage"), ", ".join(_extended_key_usage_name(oid) for oid in info.extended_key_usages) or "-")
    if info.is_authentication_only:
        line(N_("Use"), _("authentication only; cannot sign documents"))
    else:
        line(N_("Use"), _("document signing") if info.can_sign else _("not for document signing"))
    line(N_("Valid"), f"{info.not_before.isoformat()} - {info.not_after.isoformat()}")
    now = dt.datetime.now(dt.timezone.utc)
    if now > info.not_after:
        line(N_("Status"), translate(N_("EXPIRED on {date}; it cannot sign"), None, date=info.not_after.date().isoformat()))
    elif now < info.not_before:
        line(N_("Status"), translate(N_("NOT YET VALID: valid from {date}; it cannot sign before then"), None, date=info.not_before.date().isoformat()))
    else:
        line(N_("Status"), translate(N_("valid until {date}"), None, date=info.not_after.date().isoformat()))
    line(N_("Key algorithm"), info.key_algorithm.value + (f" {info.key_size}" if info.key_size else ""))
    line(N_("Serial number"), f"{info.serial_number:x}")
    line(N_("Issuer"), info.issuer)


# Names of the extended key usages found in NCA RK certificates: the standard
# ones by their RFC 5280 names, NCA RK's role OIDs by the role.
_EXTENDED_KEY_USAGE_NAMES = {
    "1.3.6.1.5.5.7.3.1": "serverAuth",
    "1.3.6.1.5.5.7.3.2": "clientAuth",
    "1.3.6.1.5.5.7.3.3": "codeSigning",
    "1.3.6.1.5.5.7.3.4": "emailProtection",
    "1.3.6.1.5.5.7.3.8": "timeStamping",
    "1.3.6.1.5.5.7.3.9": "OCSPSigning",
    "1.2.398.3.3.4.1.1": N_("individual"),
    "1.2.398.3.3.4.1.2": N_("employee of a legal entity"),
    "1.2.398.3.3.4.1.2.1": N_("first head"),
    "1.2.398.3.3.4.1.2.2": N_("person with signing rights"),
    "1.2.398.3.3.4.1.2.3": N_("person with the right to sign financial documents"),
    "1.2.398.3.3.4.1.2.4": N_("human resources employee"),
    "1.2.398.3.3.4.1.2.5": N_("employee"),
}


def _extended_key_usage_name(oid: str) -> str:
    """Return ``name (OID)`` for a known extended key usage, else the OID."""
    name = _EXTENDED_KEY_USAGE_NAMES.get(oid)
    return f"{_(name)} ({oid})" if name else oid


def _print_certificates(certificates, config=None, chain=()) -> None:
    """Describe each certificate; with ``config``, also the first one's revocation status, found with ``chain``."""
    from signing.certificates import describe_certificate

    for index, cert in enumerate(certificates):
        if index:
            click.echo("")
        _print_certificate(describe_certificate(cert))
        if index == 0 and config is not None:
            _print_revocation(cert, (*certificates[1:], *chain), config)


def _print_revocation(cert, others, config) -> None:
    """Print the revocation status of ``cert`` now, when [trust] anchors are configured to find its issuer."""
    from signing.revocation import CertStatus, RevocationPolicy, RevocationSettings, check_revocation
    from signing.trust import TrustSettings, validate_path

    revocation = RevocationSettings.from_config(config)
    if not TrustSettings.from_config(config).anchors or revocation.policy == RevocationPolicy.OFF.value:
        return
    now = dt.datetime.now(dt.timezone.utc)
    path = validate_path(cert, intermediates=tuple(others), at=now, settings=config)
    revoked: bool | None = None
    if path.trusted and len(path.chain) > 1:
        status = check_revocation(cert, path.chain[1], at=now, settings=revocation)
        if status.revoked:
            revoked = True
        elif status.status is CertStatus.GOOD:
            revoked = False
    click.echo(f"{_('Revocation')}: {_yes_no(revoked, N_('revoked'), N_('not revoked'), N_('unknown'))}")


def _role_names(info) -> list[str]:
    from signing.certificates import HolderRole

    names = []
    if info.is_head:
        names.append("head")
    if HolderRole.SIGNING_RIGHTS in info.roles:
        names.append("signing-rights")
    if HolderRole.EMPLOYEE in info.roles:
        names.append("employee")
    if info.is_individual:
        names.append("individual")
    return names


def register(group: click.Group) -> None:
    """Add ``sign``, ``verify`` and ``cert-info`` to ``group``."""
    from .context import pass_context

    @group.command("sign", help=N_("Check that your key may sign the XML notification or roster FILE, then sign it."), short_help=N_("Sign an XML document."))
    @click.argument("file", type=click.Path(dir_okay=False, exists=True))
    @click.option("--key", "key", metavar="KEY", default=None, help=N_("Signing key: a PKCS#12 file (.p12) or a pkcs11: URI (default: signing.key)."))
    @click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help=N_("Where to write the signed document (default: FILE with the suffix .signed.xml)."))
    @click.option("--xades/--no-xades", default=None, help=N_("Add XAdES signing time and signing certificate (default: signing.xades)."))
    @_with_password_options
    @pass_context
    def sign_command(ctx_obj, file, key, output, xades, password_env, password_file):
        _sign(ctx_obj, file, key, output, xades, password_env, password_file)

    @group.command("verify", help=N_("Verify the signature of the XML document FILE: integrity, trust, revocation and who may sign. Exit code 0 only when all pass."), short_help=N_("Verify a signed XML document."))
    @click.argument("file", type=click.Path(dir_okay=False, exists=True))
    @click.option("--trust", "trust_dir", type=click.Path(exists=True), default=None, help=N_("Folder or file with the trusted CA certificates (default: the configuration)."))
    @click.option("--crl", "crl_files", type=click.Path(dir_okay=False, exists=True), multiple=True, help=N_("CRL file (DER or PEM) to check revocation with; repeat it for the CRL of each CA and for a delta CRL."))
    @click.option("--at", "at", metavar="TIME", default=None, help=N_("Check the certificate as of TIME (ISO 8601 with time zone, or 'now'); default: the signed signing time."))
    @click.option("--sender-bin", metavar="BIN", default=None, help=N_("BIN the document must come from."))
    @pass_context
    def verify_command(ctx_obj, file, trust_dir, crl_files, at, sender_bin):
        from signing.verify import verify_document

        config = _with_overrides(ctx_obj.config, trust_dir, crl_files)
        result = verify_document(_read_input(file), settings=config, at=_parse_time(at), expected_sender_bin=sender_bin)
        _print_result(result)
        if not result.ok:
            raise VerificationError(N_("{path}: the document is not valid; see the problems above"), path=file)

    @group.command("cert-info", help=N_("Show the holder, IIN, BIN, role, key usage and validity of a certificate, a PKCS#12 key or a pkcs11: key, and its revocation status when [trust] anchors are configured."), short_help=N_("Describe a certificate or key."))
    @click.argument("source", metavar="KEY_OR_CERT")
    @_with_password_options
    @pass_context
    def cert_info_command(ctx_obj, source, password_env, password_file):
        from signing.certificates import load_certificates
        from signing.keys import load_signer
        from signing.settings import SigningSettings

        if source.startswith("pkcs11:") or Path(source).suffix.lower() in (".p12", ".pfx"):
            password = _password_source(ctx_obj.config, password_env, password_file, Path(source).name)
            settings = ctx_obj.config.section("signing", SigningSettings)
            try:
                signer = load_signer(source, password=password, module=settings.pkcs11_module or None, check_usage=False)
            except UnsupportedKeyError as exc:
                # A GOST container's key cannot be opened, but its certificate bags can unless a GOST cipher
                # encrypts them: describe the certificates found, then report the key.
                _print_certificates(getattr(exc, "certificates", ()))
                raise
            certificates = [signer.certificate]
            chain = tuple(getattr(signer, "chain", ()))
            close = getattr(signer, "close", None)
            if close is not None:
                close()
        else:
            certificates = load_certificates(source)
            chain = ()
        _print_certificates(certificates, ctx_obj.config, chain)

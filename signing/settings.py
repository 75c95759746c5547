"""The ``[signing]`` configuration table."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SignatoryList", "SigningSettings"]


@dataclass(frozen=True, slots=True)
class SignatoryList:
    """One ``[[signing.signatories]]`` entry: who may sign notifications for the organisation ``bin``.

    ``heads`` and ``deputies`` are IINs. When an entry exists for the
    sender's BIN, it decides who is head and who is deputy, because a
    certificate shows signing rights but cannot show that a person is a deputy.
    """

    bin: str
    heads: tuple[str, ...] = ()
    deputies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SigningSettings:
    """The ``[signing]`` table."""

    #: Signing key: a PKCS#12 file or a ``pkcs11:`` URI; "" means give it on the command line.
    key: str = ""
    #: Environment variable that contains the key password or token PIN.
    password_env: str = "EDMS_ADAPTER_KEY_PASSWORD"
    #: File whose first line is the key password or token PIN; "" means none.
    password_file: str = ""
    #: PKCS#11 library used when a ``pkcs11:`` URI has no ``module-path``.
    pkcs11_module: str = ""
    #: Accept RSA-SHA1 and SHA-1 digests when verifying (never used to sign).
    allow_sha1: bool = False
    #: Add XAdES-BES signed properties (signing time, signing certificate) when signing.
    xades: bool = True
    #: Per organisation, the IINs of the head and the deputies.
    signatories: tuple[SignatoryList, ...] = ()

    def signatories_of(self, bin_value: str | None) -> SignatoryList | None:
        """Return the configured signatory list of the organisation ``bin_value``, if any."""
        for entry in self.signatories:
            if bin_value is not None and entry.bin == bin_value:
                return entry
        return None

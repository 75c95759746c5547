"""Shared fixtures: the real NCA test files, temporary configuration, language."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapter import i18n

REPO_ROOT = Path(__file__).resolve().parent.parent
# The real NCA RK test keys live beside the checkout, never inside it.
NCA_TEST_DIR = REPO_ROOT.parent / "shared" / "data" / "nca-test"
NCA_TEST_PASSWORD = "Qwerty12"


@pytest.fixture
def nca_dir() -> Path:
    """Folder with the real NCA RK test keys, CA certificate and CRL."""
    if not (NCA_TEST_DIR / "nca_rsa_test.crt").is_file():
        pytest.skip(f"the real NCA test files are not at {NCA_TEST_DIR}")
    return NCA_TEST_DIR


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory):
    """A generated NCA-like test PKI (signing.testpki.TestPki), shared by the whole test session.

    Tests that revoke keys or need the OCSP URL of a running responder create their own.
    """
    from signing.testpki import TestPki

    return TestPki.create(tmp_path_factory.mktemp("test-pki"))


@pytest.fixture(autouse=True)
def _english_by_default():
    """Run each test in English unless it sets another language."""
    with i18n.use_language("en"):
        yield

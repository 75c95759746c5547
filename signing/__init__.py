"""Signing and verification of edms-adapter documents on the Kazakh PKI."""

"""Every message a user reads exists in the kk, ru and en catalogs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from adapter import i18n

REPO_ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "N_": None, "gettext": None, "translate": None}
PLACEHOLDER = re.compile(r"\{([a-z_]+)(?:![rsa])?(?::[^}]*)?\}")


def _extracted_messages() -> dict[str, str]:
    found: dict[str, str] = {}
    for package in ("adapter", "signing"):
        folder = REPO_ROOT / package
        method_map = [("**.py", "python")]
        for filename, lineno, message, _comments, _context in extract_from_dir(folder, method_map, keywords=KEYWORDS):
            if isinstance(message, tuple):
                message = message[0]
            if message:
                found.setdefault(message, f"{package}/{filename}:{lineno}")
    return found


MESSAGES = _extracted_messages()


def test_messages_are_extracted():
    assert len(MESSAGES) > 20


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_message_is_translated(language):
    table = i18n.catalog(language)
    missing = [f"{where}: {message!r}" for message, where in sorted(MESSAGES.items(), key=lambda item: item[1]) if message not in table]
    assert not missing, f"{len(missing)} message(s) missing from the {language} catalog:\n" + "\n".join(missing)


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_translations_keep_placeholders(language):
    table = i18n.catalog(language)
    broken = []
    for message in MESSAGES:
        translated = table.get(message)
        if translated is None:
            continue
        if set(PLACEHOLDER.findall(message)) != set(PLACEHOLDER.findall(translated)):
            broken.append(f"{message!r} -> {translated!r}")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_areas_agree_on_shared_messages(language):
    """A message id in several area catalogs has one translation, because the merge keeps only one."""
    from babel.messages.pofile import read_po

    seen: dict[str, tuple[str, str]] = {}
    conflicts = []
    for po_file in sorted((REPO_ROOT / "adapter" / "locale" / language / "LC_MESSAGES").glob("*.po")):
        with po_file.open("rb") as handle:
            for message in read_po(handle):
                if not message.id or not message.string:
                    continue
                earlier = seen.setdefault(message.id, (po_file.name, message.string))
                if earlier[1] != message.string:
                    conflicts.append(f"{message.id!r}: {earlier[0]} {earlier[1]!r} != {po_file.name} {message.string!r}")
    assert not conflicts, "\n".join(conflicts)

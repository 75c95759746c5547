"""Input files: notifications and rosters as TOML or JSON, facts as CSV or XLSX.

An input file has exactly these tables and keys (``?`` marks optional keys);
any other key is an error that names the known keys::

    [document]      number, date, language, edition?
    [sender]        name_kk, name_ru, bin
    [recipient]     name_kk, name_ru, bin?
    [violation]     type, description?, legal_norm          (notification)
    [[facts]]       url?, domain?, ip?, protocol, mac?, imei?, description?
    [[evidence]]    path, fact?
    [[employees]]   full_name, work_email, mobile_phone     (roster, in place of
                                                             violation, facts, evidence)
    [signatory]     position, full_name, iin, role

The facts of a notification may instead come from a CSV or XLSX file with
the columns ``url, domain, ip, protocol, mac, imei, description``. Kazakh and
Russian titles such as ``IP-мекенжай`` or ``доменное имя`` are accepted, in
any letter case and spacing, and a numbering column (``№``) is ignored. CSV
files are UTF-8 with or without a byte order mark, separated by commas or
semicolons. Both readers stream the rows, so 100,000 facts fit in bounded
memory.

Evidence paths are relative to the input file. Each file is read once: its
SHA-256 digest, size and media type (PNG, JPEG or PDF, from the first bytes,
never from the name) go into the document.

Every problem of the file is collected and raised together as one
:class:`~adapter.errors.InvalidDocumentError` whose ``source`` is the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import hashlib
import itertools
import json
import logging
import os
import re
import tomllib
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import codelists
from .config import Config, toml_syntax_problem
from .errors import InputError, InvalidDocumentError, Problem
from .i18n import N_
from .model import (
    DocumentHeader,
    Employee,
    Evidence,
    Fact,
    Notification,
    Organisation,
    Roster,
    Signatory,
    Violation,
)
from .validation import (
    EMPLOYEE_LOCATION,
    EVIDENCE_LOCATION,
    FACT_LOCATION,
    NOTIFICATION_ROLES,
    ROSTER_ROLES,
    DuplicateEmployees,
    DuplicateFacts,
    check_evidence,
    check_violation,
    employee_name_error,
    located,
    normalize_email,
    normalize_fact_fields,
    normalize_language,
    normalize_phone,
    normalize_role,
    normalize_violation_type,
    require_text,
    resolve_edition,
    validate_bin,
    validate_iin,
)

__all__ = [
    "COLUMN_TITLES",
    "INPUT_KEYS",
    "MAX_PROBLEMS",
    "describe_evidence_file",
    "detect_media_type",
    "load_facts",
    "load_input",
]

logger = logging.getLogger(__name__)

#: The tables of an input file and their keys; ``True`` marks a required key.
INPUT_KEYS: Mapping[str, Mapping[str, bool]] = {
    "document": {"number": True, "date": True, "language": True, "edition": False},
    "sender": {"name_kk": True, "name_ru": True, "bin": True},
    "recipient": {"name_kk": True, "name_ru": True, "bin": False},
    "violation": {"type": True, "description": False, "legal_norm": True},
    "facts": {"url": False, "domain": False, "ip": False, "protocol": True, "mac": False, "imei": False, "description": False},
    "evidence": {"path": True, "fact": False},
    "employees": {"full_name": True, "work_email": True, "mobile_phone": True},
    "signatory": {"position": True, "full_name": True, "iin": True, "role": True},
}
_NOTIFICATION_TABLES = ("document", "sender", "recipient", "violation", "facts", "evidence", "signatory")
_ROSTER_TABLES = ("document", "sender", "recipient", "employees", "signatory")

#: Accepted column titles of a facts file, by column key, in English, Kazakh and Russian.
COLUMN_TITLES: Mapping[str, tuple[str, ...]] = {
    "url": ("url", "uri", "link", "url-мекенжай", "url-мекенжайы", "сілтеме", "url-адрес", "ссылка"),
    "domain": ("domain", "domain name", "домен", "домен атауы", "домендік атау", "доменное имя"),
    "ip": ("ip", "ip address", "ip-мекенжай", "ip-мекенжайы", "ip-адрес"),
    "protocol": ("protocol", "protocol type", "хаттама", "хаттама түрі", "протокол", "вид протокола", "тип протокола"),
    "mac": ("mac", "mac address", "mac-мекенжай", "mac-мекенжайы", "mac-адрес"),
    "imei": ("imei", "imei коды", "imei код"),
    "description": ("description", "comment", "сипаттама", "түсініктеме", "описание", "комментарий"),
}
# A numbering column, as forms and spreadsheets often have; its values are ignored.
_NUMBERING_TITLES = ("№", "no", "no.", "number", "#", "№ р/с", "р/с №", "№ п/п", "п/п №")

#: Problems listed at most per file; the rest are counted in one closing problem.
MAX_PROBLEMS = 1000

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"%PDF-", "application/pdf"),
)
_CHUNK = 1024 * 1024

CELL_LOCATION = N_("{file}, row {row}, column {column}")
ROW_LOCATION = N_("{file}, row {row}")


def _title_key(title: str) -> str:
    return re.sub(r"[\s\-_.]", "", title.casefold())


_TITLE_KEYS: Mapping[str, str | None] = {
    **{_title_key(title): key for key, titles in COLUMN_TITLES.items() for title in titles},
    **{_title_key(title): None for title in _NUMBERING_TITLES},
}


class _Problems:
    """Problems of one input, kept up to :data:`MAX_PROBLEMS` and counted beyond."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.dropped = 0

    def add(self, problem: Problem) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(problem)
        else:
            self.dropped += 1

    def error(self, error: InputError, location: str | None = None, **params: Any) -> None:
        self.add(error.as_problem() if location is None else located(error, location, **params))

    def __bool__(self) -> bool:
        return bool(self.items)

    def result(self) -> list[Problem]:
        if not self.dropped:
            return self.items
        more = Problem(
            "too-many-problems",
            N_("{count} more problems are not listed: fix the ones above and load the file again"),
            params={"count": self.dropped},
        )
        return [*self.items, more]

    def raise_if_any(self, source: Path) -> None:
        if self.items:
            raise InvalidDocumentError(self.result(), source=str(source))


def _file_problem(message: str, path: Path, code: str, **params: Any) -> InvalidDocumentError:
    problem = Problem(code, message, value=str(path), params={"file": str(path), **params})
    return InvalidDocumentError([problem], source=str(path))


# --- the input file ------------------------------------------------------------------------


def _read_mapping(path: Path) -> Mapping[str, Any]:
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise _file_problem(N_("unknown input file type {file}: use a .toml or .json file"), path, "unknown-file-type")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _file_problem(N_("cannot read {file}: {reason}"), path, "unreadable", reason=exc.strerror or str(exc)) from exc
    try:
        text = data.decode("utf-8-sig")
        parsed = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    except UnicodeDecodeError as exc:
        raise _file_problem(N_("{file} is not UTF-8 text: save it in the UTF-8 encoding"), path, "not-utf8") from exc
    except tomllib.TOMLDecodeError as exc:
        message, params = toml_syntax_problem(str(path), exc)
        raise _file_problem(message, path, "syntax", **{name: value for name, value in params.items() if name != "file"}) from exc
    except json.JSONDecodeError as exc:
        raise _file_problem(N_("{file} is not valid JSON: {reason}"), path, "syntax", reason=str(exc)) from exc
    if not isinstance(parsed, dict):
        raise _file_problem(N_("{file} must contain tables such as [document], not a list or a single value"), path, "syntax")
    return parsed


def _closest(name: str, known: Sequence[str]) -> str | None:
    """Return the known key that ``name`` most likely misspells or shortens, if any."""
    guess = difflib.get_close_matches(name, known, n=1)
    if guess:
        return guess[0]
    containing = [key for key in known if name and (name in key or key in name)]
    return containing[0] if len(containing) == 1 else None


_UNKNOWN_NAME_MESSAGES = {
    # (top-level table, with a suggestion) -> message
    (False, True): N_("unknown key {field}: did you mean {suggestion}? The keys of {table} are: {valid}"),
    (False, False): N_("unknown key {field}: the keys of {table} are: {valid}"),
    (True, True): N_("unknown table {field}: did you mean {suggestion}? The tables are: {valid}"),
    (True, False): N_("unknown table {field}: use the tables {valid}"),
}


def _unknown_key(field: str, name: str, known: Sequence[str], table: str | None) -> InputError:
    """Return the error for key ``name`` of ``table`` (``None`` for a top-level table), suggesting the closest known name."""
    guess = _closest(name, known)
    return InputError(
        _UNKNOWN_NAME_MESSAGES[table is None, guess is not None],
        field=field,
        suggestion=guess,
        table=table,
        valid=", ".join(known),
        code="unknown-key",
    )


def _table(data: Mapping[str, Any], name: str, problems: _Problems) -> Mapping[str, Any] | None:
    """Return table ``name`` of ``data`` after reporting its unknown keys; ``None`` (reported) when missing or not a table."""
    value = data.get(name)
    if value is None:
        problems.error(InputError(N_("table [{field}] is missing: add it to the input file"), field=name, code="missing"))
        return None
    if not isinstance(value, Mapping):
        problems.error(InputError(N_("{field} must be a table such as [{field}]"), field=name, code="wrong-type"))
        return None
    _report_unknown_keys(value, name, f"[{name}]", problems)
    return value


def _array(data: Mapping[str, Any], name: str, problems: _Problems, location: str, param: str) -> list[Mapping[str, Any]]:
    """Return the array of tables ``name``, reporting entries that are not tables and unknown keys."""
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.error(InputError(N_("{field} must be an array of tables such as [[{field}]]"), field=name, code="wrong-type"))
        return []
    entries: list[Mapping[str, Any]] = []
    for number, entry in enumerate(value, start=1):
        if not isinstance(entry, Mapping):
            problems.error(InputError(N_("{field} must be an array of tables such as [[{field}]]"), field=name, code="wrong-type"), location, **{param: number})
            entry = {}
        else:
            _report_unknown_keys(entry, name, f"[[{name}]]", problems, location, **{param: number})
        entries.append(entry)
    return entries


def _report_unknown_keys(table: Mapping[str, Any], name: str, title: str, problems: _Problems, location: str | None = None, **params: Any) -> None:
    known = list(INPUT_KEYS[name])
    for key in table:
        if key not in INPUT_KEYS[name]:
            problems.error(_unknown_key(f"{name}.{key}", str(key), known, title), location, **params)


def _document_kind(data: Mapping[str, Any], problems: _Problems) -> str | None:
    known = list(dict.fromkeys(_NOTIFICATION_TABLES + _ROSTER_TABLES))
    for key in data:
        if key not in INPUT_KEYS:
            problems.error(_unknown_key(str(key), str(key), known, None))
    has_notification = any(key in data for key in ("violation", "facts", "evidence"))
    has_roster = "employees" in data
    if has_notification and has_roster:
        problems.error(InputError(
            N_("the input file has both a notification ([violation], [[facts]], [[evidence]]) and a roster ([[employees]]): keep one document per file"),
            field="employees",
            code="mixed-document",
        ))
        return None
    if has_roster:
        return "roster"
    if has_notification:
        return "notification"
    problems.error(InputError(
        N_("the input file is neither a notification nor a roster: add [violation], [[facts]] and [[evidence]] for a notification, or [[employees]] for a roster"),
        field="document",
        code="unknown-document",
    ))
    return None


def _run(problems: _Problems, function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except InputError as exc:
        problems.error(exc)
        return None


def _optional_text(table: Mapping[str, Any], key: str, field: str, problems: _Problems) -> str | None:
    value = table.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _run(problems, require_text, value, field)


def _parse_date(value: object) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    if value is None:
        raise InputError(N_("{field} is required but missing or empty"), field="document.date", code="missing")
    raise InputError(
        N_("invalid date \"{value}\" in {field}: write YYYY-MM-DD, such as 2026-11-20"),
        field="document.date",
        value=value,
        code="invalid-date",
    )


def _header(data: Mapping[str, Any], problems: _Problems, first_edition_start: dt.date) -> DocumentHeader | None:
    document = _table(data, "document", problems)
    sender = _table(data, "sender", problems)
    recipient = _table(data, "recipient", problems)

    number = day = language = edition = None
    if document is not None:
        number = _run(problems, require_text, document.get("number"), "document.number")
        day = _run(problems, _parse_date, document.get("date"))
        language = _run(problems, normalize_language, document.get("language"))
        edition_value = _optional_text(document, "edition", "document.edition", problems)
        if day is not None:
            edition = _run(problems, resolve_edition, day, edition_value, first_edition_start)

    sender_org = _organisation(sender, "sender", problems, bin_required=True)
    recipient_org = _organisation(recipient, "recipient", problems, bin_required=False)
    if None in (number, day, language, edition, sender_org, recipient_org):
        return None
    return DocumentHeader(number, day, language, edition, sender_org, recipient_org)


def _organisation(table: Mapping[str, Any] | None, name: str, problems: _Problems, *, bin_required: bool) -> Organisation | None:
    if table is None:
        return None
    name_kk = _run(problems, require_text, table.get("name_kk"), f"{name}.name_kk")
    name_ru = _run(problems, require_text, table.get("name_ru"), f"{name}.name_ru")
    raw_bin = table.get("bin")
    bin_value = None
    if bin_required or not (raw_bin is None or (isinstance(raw_bin, str) and not raw_bin.strip())):
        bin_value = _run(problems, validate_bin, raw_bin, field=f"{name}.bin")
        if bin_value is None:
            return None
    if name_kk is None or name_ru is None:
        return None
    return Organisation(name_kk, name_ru, bin_value)


def _signatory(data: Mapping[str, Any], problems: _Problems, roles: Any) -> Signatory | None:
    table = _table(data, "signatory", problems)
    if table is None:
        return None
    position = _run(problems, require_text, table.get("position"), "signatory.position")
    full_name = _run(problems, require_text, table.get("full_name"), "signatory.full_name")
    iin = _run(problems, validate_iin, table.get("iin"), field="signatory.iin")
    role = _run(problems, normalize_role, table.get("role"), roles=roles)
    if None in (position, full_name, iin, role):
        return None
    return Signatory(position, full_name, iin, role)


def load_input(
    path: str | os.PathLike[str],
    *,
    facts_file: str | os.PathLike[str] | None = None,
    config: Config | None = None,
) -> Notification | Roster:
    """Load a notification or a roster from a TOML or JSON input file.

    ``facts_file`` (CSV or XLSX) gives the facts of a notification whose
    input file has no ``[[facts]]``. ``config`` gives
    ``documents.first_edition_start`` and the violation type list; without
    it the defaults apply. Every value is normalised as
    :mod:`adapter.validation` describes, evidence files are hashed, and all
    problems found are raised together as :class:`InvalidDocumentError`.
    """
    source = Path(path)
    config = config or Config()
    data = _read_mapping(source)
    problems = _Problems()
    kind = _document_kind(data, problems)
    if kind == "roster" and facts_file is not None:
        problems.error(InputError(
            N_("a facts file belongs to a notification, but {value} is a roster: leave the facts file out"),
            field="facts",
            value=str(source),
            code="facts-for-roster",
        ))
    first_edition_start = config.documents.first_edition_start
    header = _header(data, problems, first_edition_start)
    document: Notification | Roster | None = None
    if kind == "roster":
        document = _roster(data, header, problems)
    elif kind == "notification":
        types_file = config.documents.violation_types_file
        types = codelists.load_violation_types(config.resolve_path(types_file) if types_file else None)
        facts_path = None if facts_file is None else Path(facts_file)
        document = _notification(data, source, facts_path, header, types, problems)
    problems.raise_if_any(source)
    # Every path that leaves the document unbuilt has reported a problem.
    assert document is not None
    logger.debug("loaded %s %s from %s", type(document).__name__, document.header.number, source)
    return document


def _notification(
    data: Mapping[str, Any],
    source: Path,
    facts_path: Path | None,
    header: DocumentHeader | None,
    types: Mapping[str, codelists.CodeListEntry],
    problems: _Problems,
) -> Notification | None:
    violation_table = _table(data, "violation", problems)
    violation = None
    if violation_table is not None:
        code = _run(problems, normalize_violation_type, violation_table.get("type"), types=types)
        description = _optional_text(violation_table, "description", "violation.description", problems)
        legal_norm = _run(problems, require_text, violation_table.get("legal_norm"), "violation.legal_norm")
        for error in check_violation(code, description):
            problems.error(error)
        if code is not None and legal_norm is not None:
            violation = Violation(code, legal_norm, description)

    raw_facts = _array(data, "facts", problems, FACT_LOCATION, "fact")
    if facts_path is not None:
        if raw_facts:
            problems.error(InputError(
                N_("facts are given both in [[facts]] and in the facts file {value}: keep them in one place"),
                field="facts",
                value=str(facts_path),
                code="facts-twice",
            ))
        facts, fact_count = _read_facts_table(facts_path, problems)
    else:
        facts, fact_count = _facts_from_tables(raw_facts, problems)
    if fact_count == 0:
        problems.error(InputError(
            N_("the notification has no facts: add at least one [[facts]] table or a facts file"),
            field="facts",
            code="no-facts",
        ))

    raw_evidence = _array(data, "evidence", problems, EVIDENCE_LOCATION, "evidence")
    evidence = _evidence(raw_evidence, source.parent, problems)
    for number, error in check_evidence(evidence, fact_count, require_any=not raw_evidence):
        problems.error(error, EVIDENCE_LOCATION if number else None, evidence=number)

    signatory = _signatory(data, problems, NOTIFICATION_ROLES)
    if problems or None in (header, violation, signatory):
        return None
    return Notification(header, violation, tuple(facts), signatory, tuple(evidence))


def _facts_from_tables(entries: list[Mapping[str, Any]], problems: _Problems) -> tuple[list[Fact], int]:
    facts: list[Fact] = []
    duplicates = DuplicateFacts()
    for number, entry in enumerate(entries, start=1):
        fact, errors = normalize_fact_fields(entry, number)
        if fact is not None:
            duplicate = duplicates.check(fact)
            if duplicate is not None:
                errors.append(duplicate)
            facts.append(fact)
        for error in errors:
            problems.error(error, FACT_LOCATION, fact=number)
    return facts, len(entries)


def _roster(data: Mapping[str, Any], header: DocumentHeader | None, problems: _Problems) -> Roster | None:
    entries = _array(data, "employees", problems, EMPLOYEE_LOCATION, "employee")
    if not entries:
        problems.error(InputError(
            N_("the roster lists no employees: add at least one [[employees]] table"),
            field="employees",
            code="no-employees",
        ))
    employees: list[Employee] = []
    duplicates = DuplicateEmployees()
    for number, entry in enumerate(entries, start=1):
        errors: list[InputError] = []
        name_error = employee_name_error(entry.get("full_name"))
        if name_error is not None:
            errors.append(name_error)
        email = phone = None
        try:
            email = normalize_email(entry.get("work_email"))
        except InputError as exc:
            errors.append(exc)
        try:
            phone = normalize_phone(entry.get("mobile_phone"))
        except InputError as exc:
            errors.append(exc)
        errors.extend(duplicates.check(number, email, phone))
        for error in errors:
            problems.error(error, EMPLOYEE_LOCATION, employee=number)
        if not errors:
            employees.append(Employee(number, " ".join(str(entry["full_name"]).split()), email, phone))
    signatory = _signatory(data, problems, ROSTER_ROLES)
    if problems or header is None or signatory is None:
        return None
    return Roster(header, tuple(employees), signatory)


# --- evidence files ------------------------------------------------------------------------


def detect_media_type(head: bytes) -> str | None:
    """Return the media type of a file from its first bytes: PNG, JPEG or PDF, else ``None``."""
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            return media_type
    return None


def describe_evidence_file(path: str | os.PathLike[str], *, number: int = 1, fact: int | None = None) -> Evidence:
    """Read an evidence file once and return its name, media type, size and SHA-256 digest.

    Raises :class:`InputError` when the file is missing, unreadable, empty
    or not a PNG, JPEG or PDF file.
    """
    file = Path(path)
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with file.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                if not head:
                    head = chunk[:16]
                digest.update(chunk)
                size += len(chunk)
    except FileNotFoundError as exc:
        raise InputError(
            N_("evidence file {value} not found: paths are relative to the folder of the input file"),
            field="evidence.path",
            value=str(file),
            code="evidence-not-found",
        ) from exc
    except OSError as exc:
        raise InputError(
            N_("cannot read evidence file {value}: {reason}"),
            field="evidence.path",
            value=str(file),
            reason=exc.strerror or str(exc),
            code="evidence-unreadable",
        ) from exc
    if size == 0:
        raise InputError(
            N_("evidence file \"{value}\" is empty: attach the screenshot or document itself"),
            field="evidence.path",
            value=str(file),
            code="invalid-evidence",
        )
    media_type = detect_media_type(head)
    if media_type is None:
        raise InputError(
            N_("evidence file \"{value}\" is not a PNG, JPEG or PDF file: attach screenshots as PNG or JPEG, and documents as PDF"),
            field="evidence.path",
            value=str(file),
            code="invalid-evidence",
        )
    return Evidence(number, file.name, media_type, size, digest.hexdigest(), fact)


def _evidence(entries: list[Mapping[str, Any]], folder: Path, problems: _Problems) -> list[Evidence]:
    evidence: list[Evidence] = []
    for number, entry in enumerate(entries, start=1):
        raw_path = entry.get("path")
        raw_fact = entry.get("fact")
        fact = None
        if raw_fact is not None:
            if isinstance(raw_fact, bool) or not isinstance(raw_fact, int):
                problems.error(InputError(
                    N_("{field} must be a fact number such as 3, not \"{value}\""),
                    field="evidence.fact",
                    value=raw_fact,
                    code="wrong-type",
                ), EVIDENCE_LOCATION, evidence=number)
                continue
            fact = raw_fact
        try:
            relative = require_text(raw_path, "evidence.path")
            item = describe_evidence_file(folder / relative, number=number, fact=fact)
        except InputError as exc:
            problems.error(exc, EVIDENCE_LOCATION, evidence=number)
            continue
        evidence.append(item)
    return evidence


# --- facts files ---------------------------------------------------------------------------


def load_facts(path: str | os.PathLike[str]) -> tuple[Fact, ...]:
    """Read the facts of a notification from a CSV or XLSX file, numbered from 1 in row order.

    Rows are streamed; each field is normalised, and repeated facts and
    URL hosts that disagree with the domain or IP address are reported.
    Every problem, with its file, row and column, is raised together as
    :class:`InvalidDocumentError`.
    """
    source = Path(path)
    problems = _Problems()
    facts, _count = _read_facts_table(source, problems)
    problems.raise_if_any(source)
    return tuple(facts)


def _read_facts_table(path: Path, problems: _Problems) -> tuple[list[Fact], int]:
    """Read the facts file at ``path``; return the valid facts and the number of fact rows."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(path, problems)
    elif suffix == ".xlsx":
        rows = _xlsx_rows(path, problems)
    else:
        problems.error(InputError(
            N_("unknown facts file type {value}: use a .csv or .xlsx file"),
            field="facts",
            value=str(path),
            code="unknown-file-type",
        ))
        return [], 0
    return _facts_from_rows(path, rows, problems)


def _facts_from_rows(path: Path, rows: Iterator[tuple[int, list[str | None]]], problems: _Problems) -> tuple[list[Fact], int]:
    file_name = path.name
    header = None
    reported = len(problems.items)
    for row_number, cells in rows:
        if any(cells):
            header = (row_number, cells)
            break
    if header is None:
        if len(problems.items) == reported:
            # The reader reported nothing, so the file is readable but has no rows.
            problems.error(_header_error(path))
        return [], 0
    columns = _columns(file_name, header[0], header[1], problems)
    if columns is None:
        return [], 0

    facts: list[Fact] = []
    duplicates = DuplicateFacts()
    titles = {key: title for title, key, _index in columns}
    count = 0
    for row_number, cells in rows:
        if not any(cells):
            continue
        count += 1
        raw = {key: cells[index] if index < len(cells) else None for _title, key, index in columns}
        if any(cells[len(header[1]) :]):
            problems.error(InputError(
                N_("the row has more cells than the header has columns: check for a separator inside a value, and put such values in quotes"),
                field="facts",
                code="extra-cells",
            ), ROW_LOCATION, file=file_name, row=row_number)
        fact, errors = normalize_fact_fields(raw, count)
        if fact is not None:
            duplicate = duplicates.check(fact)
            if duplicate is not None:
                errors.append(duplicate)
            facts.append(fact)
        for error in errors:
            key = (error.field or "").removeprefix("facts.")
            if key in titles:
                problems.error(error, CELL_LOCATION, file=file_name, row=row_number, column=titles[key], fact=count)
            else:
                problems.error(error, ROW_LOCATION, file=file_name, row=row_number, fact=count)
    return facts, count


def _header_error(path: Path) -> InputError:
    return InputError(
        N_("the facts file {value} has no header row: the first row names the columns, such as url, domain, ip, protocol, mac, imei, description"),
        field="facts",
        value=str(path),
        code="no-header",
    )


def _columns(file_name: str, row_number: int, cells: list[str | None], problems: _Problems) -> list[tuple[str, str, int]] | None:
    """Return (title as written, column key, index) for each known column of the header row, or ``None`` on errors."""
    columns: list[tuple[str, str, int]] = []
    seen: dict[str, str] = {}
    failed = False
    valid = ", ".join(COLUMN_TITLES)
    for index, cell in enumerate(cells):
        title = (cell or "").strip()
        if not title:
            continue
        normalized = _title_key(title)
        if normalized not in _TITLE_KEYS:
            failed = True
            problems.error(InputError(
                N_("unknown column \"{value}\": use the columns {valid}, or their Kazakh or Russian titles such as IP-мекенжай or доменное имя"),
                field="facts",
                value=title,
                valid=valid,
                code="unknown-column",
            ), CELL_LOCATION, file=file_name, row=row_number, column=title)
            continue
        key = _TITLE_KEYS[normalized]
        if key is None:
            continue
        if key in seen:
            failed = True
            problems.error(InputError(
                N_("column \"{value}\" repeats column \"{first}\": keep one column for {field}"),
                field=f"facts.{key}",
                value=title,
                first=seen[key],
                code="duplicate-column",
            ), CELL_LOCATION, file=file_name, row=row_number, column=title)
            continue
        seen[key] = title
        columns.append((title, key, index))
    if "protocol" not in seen:
        failed = True
        problems.error(InputError(
            N_("the facts file has no protocol column: add a column protocol (хаттама, протокол) with a protocol code such as HTTPS for each fact"),
            field="facts.protocol",
            code="missing-column",
        ), ROW_LOCATION, file=file_name, row=row_number)
    if not {"url", "domain", "ip"} & set(seen):
        failed = True
        problems.error(InputError(
            N_("the facts file has none of the columns url, domain and ip: add at least one of them"),
            field="facts",
            code="missing-column",
        ), ROW_LOCATION, file=file_name, row=row_number)
    return None if failed else columns


def _csv_rows(path: Path, problems: _Problems) -> Iterator[tuple[int, list[str | None]]]:
    """Yield (line number, cells) of a UTF-8 CSV file, the separator chosen from the first non-blank line."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        problems.error(InputError(
            N_("cannot read the facts file {value}: {reason}"),
            field="facts",
            value=str(path),
            reason=exc.strerror or str(exc),
            code="unreadable",
        ))
        return
    with handle:
        try:
            leading: list[str] = []
            while (line := handle.readline()) and not line.strip():
                leading.append(line)
            delimiter = _choose_delimiter(line)
            reader = csv.reader(itertools.chain(leading, [line], handle), delimiter=delimiter)
            for cells in reader:
                yield reader.line_num, [cell.strip() or None for cell in cells]
        except UnicodeDecodeError:
            problems.error(InputError(
                N_("the facts file {value} is not UTF-8 text: save it as CSV UTF-8 (in Excel: Save As, CSV UTF-8)"),
                field="facts",
                value=str(path),
                code="not-utf8",
            ))
        except csv.Error as exc:
            problems.error(InputError(
                N_("the facts file {value} is not valid CSV: {reason}"),
                field="facts",
                value=str(path),
                reason=str(exc),
                code="syntax",
            ))


def _choose_delimiter(header_line: str) -> str:
    """Return the separator (``,``, ``;`` or tab) that splits the header into the most known titles."""
    best, best_score = ",", (-1, -1)
    for delimiter in (",", ";", "\t"):
        cells = next(csv.reader([header_line], delimiter=delimiter), [])
        known = sum(1 for cell in cells if _title_key(cell.strip()) in _TITLE_KEYS)
        score = (known, len(cells))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _xlsx_rows(path: Path, problems: _Problems) -> Iterator[tuple[int, list[str | None]]]:
    """Yield (row number, cells) of the first worksheet of an XLSX workbook, read in streaming mode."""
    # NOTE: openpyxl's read-only parser is the slow part: 100,000 rows of five
    # columns took 17 s to parse on a busy 2-core machine, where CSV loads in a few seconds.
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError as exc:
        problems.error(InputError(
            N_("cannot read the facts file {value}: {reason}"),
            field="facts",
            value=str(path),
            reason=exc.strerror or str(exc),
            code="unreadable",
        ))
        return
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        problems.error(InputError(
            N_("the facts file {value} is not a valid XLSX workbook: save it from the spreadsheet program as Excel Workbook (.xlsx)"),
            field="facts",
            value=str(path),
            code="syntax",
        ))
        return
    try:
        sheet = workbook.worksheets[0]
        for row_number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield row_number, [_cell_text(value) for value in values]
    finally:
        workbook.close()


def _cell_text(value: object) -> str | None:
    """Return a spreadsheet cell as text; whole numbers (IMEIs typed as numbers) lose the ``.0``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    text = str(value).strip()
    return text or None

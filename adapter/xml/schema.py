"""Validate a notification or roster against its XSD.

Two paths share one result type, a tuple of :class:`~adapter.errors.Problem`:

* the fast path parses with the hardened parser and validates with libxml2
  (:class:`lxml.etree.XMLSchema`). A valid document costs one parse and one
  validation, and an invalid one gets libxml2's messages;
* the detailed path runs only when the fast path fails. It validates the
  same tree with xmlschema and turns every error into a Problem with the
  field, the value, the XPath, the line and a message in the user's
  language; the expected form comes from the schema's own documentation.

Values of roster personal data (names, e-mails, phones, IINs) are never
copied into a problem: messages show them masked by
:func:`adapter.validation.mask_personal` and ``Problem.value`` stays empty.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import xmlschema
from lxml import etree

from schemas import schema_path

from ..errors import InvalidDocumentError, Problem
from ..i18n import N_, current_language, gettext
from ..model import DocumentKind
from ..validation import mask_personal
from .namespaces import SCHEMA_FILES, document_kind, namespace_of
from .security import Source, default_max_bytes, parse_tree, source_name

__all__ = ["check_xml", "libxml2_schema", "validate_tree", "validate_xml", "xmlschema_schema"]

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_XSD_NS = "http://www.w3.org/2001/XMLSchema"
_XSD_DOCUMENTATION = f"{{{_XSD_NS}}}documentation"

#: Elements whose values are personal data: problems show them only masked.
PERSONAL_ELEMENTS = frozenset({"fullName", "workEmail", "mobilePhone", "iin"})

#: Location of a schema problem: the XPath of the element and its line.
SCHEMA_LOCATION = N_("{path}, line {line}")

_thread_schemas = threading.local()
_xmlschema_cache: dict[DocumentKind, xmlschema.XMLSchema10] = {}
_xmlschema_lock = threading.Lock()


def libxml2_schema(kind: DocumentKind) -> etree.XMLSchema:
    """Return the compiled libxml2 schema of ``kind``, one per thread because lxml validators hold state."""
    cache: dict[DocumentKind, etree.XMLSchema] | None = getattr(_thread_schemas, "cache", None)
    if cache is None:
        cache = _thread_schemas.cache = {}
    schema = cache.get(kind)
    if schema is None:
        schema = cache[kind] = etree.XMLSchema(_schema_tree(kind))
    return schema


def _schema_tree(kind: DocumentKind) -> etree._ElementTree:
    return etree.parse(str(schema_path(SCHEMA_FILES[kind])), etree.XMLParser(resolve_entities=False, no_network=True))


@dataclass(frozen=True, slots=True)
class _IdentityConstraint:
    """An xs:unique or xs:keyref whose selector and field are plain child steps, checked in Python."""

    name: str
    refer: str | None
    values: etree.XPath
    count: etree.XPath


# xs:unique and xs:keyref cost libxml2 about a third of a notification's
# validation. Checked in Python, these child-step forms take two XPath queries
# each. An xs:key, which also requires its field, is left to libxml2.
_CHILD_STEPS = re.compile(r"\w+:\w+(/\w+:\w+)*")
_IDENTITY_TAGS = (f"{{{_XSD_NS}}}unique", f"{{{_XSD_NS}}}keyref")


def _fast_schema(kind: DocumentKind) -> tuple[etree.XMLSchema, tuple[_IdentityConstraint, ...]]:
    """Return the schema of ``kind`` without its identity constraints, and those constraints, one per thread.

    When a constraint is not of the form :class:`_IdentityConstraint` checks,
    the full schema is returned with no constraints to check.
    """
    cache: dict[DocumentKind, tuple[etree.XMLSchema, tuple[_IdentityConstraint, ...]]] | None = getattr(_thread_schemas, "fast", None)
    if cache is None:
        cache = _thread_schemas.fast = {}
    found = cache.get(kind)
    if found is None:
        tree = _schema_tree(kind)
        constraints = []
        elements = list(tree.iter(*_IDENTITY_TAGS))
        for element in elements:
            selector = element.find(f"{{{_XSD_NS}}}selector")
            fields = element.findall(f"{{{_XSD_NS}}}field")
            paths = (selector.get("xpath", "") if selector is not None else "", fields[0].get("xpath", "") if len(fields) == 1 else "")
            # Declared on the root element, a constraint's scope is the whole document.
            owner = element.getparent()
            on_root = owner.get("name") == kind.value and owner.getparent() is tree.getroot()
            if not on_root or not all(_CHILD_STEPS.fullmatch(path) for path in paths):
                found = cache[kind] = (libxml2_schema(kind), ())
                return found
            namespaces = {prefix: uri for prefix, uri in element.nsmap.items() if prefix}
            steps = f"{paths[0]}/{paths[1]}"
            refer = element.get("refer")
            constraints.append(
                _IdentityConstraint(
                    name=element.get("name", ""),
                    refer=refer.split(":")[-1] if refer else None,
                    values=etree.XPath(f"{steps}/text()", namespaces=namespaces, smart_strings=False),
                    count=etree.XPath(f"count({steps})", namespaces=namespaces),
                )
            )
        for element in elements:
            element.getparent().remove(element)
        found = cache[kind] = (etree.XMLSchema(tree), tuple(constraints))
    return found


def _identity_holds(root: etree._Element, constraints: tuple[_IdentityConstraint, ...]) -> bool:
    """Return True when ``constraints`` certainly hold in ``root``; False sends the tree to the full schema.

    Values are compared as whole numbers, the type of every constrained field
    in the schemas. A field whose text is split (by a comment) or is not a
    whole number is left to libxml2.
    """
    keys: dict[str, set[int]] = {}
    for constraint in constraints:
        texts = constraint.values(root)
        if len(texts) != int(constraint.count(root)):
            return False
        try:
            values = [int(text) for text in texts]
        except ValueError:
            return False
        unique = set(values)
        if constraint.refer is None:
            if len(unique) != len(values):
                return False
            keys[constraint.name] = unique
        elif constraint.refer not in keys or not unique <= keys[constraint.refer]:
            return False
    return True


def xmlschema_schema(kind: DocumentKind) -> xmlschema.XMLSchema10:
    """Return the xmlschema schema of ``kind``, built once per process."""
    with _xmlschema_lock:
        schema = _xmlschema_cache.get(kind)
        if schema is None:
            schema = _xmlschema_cache[kind] = xmlschema.XMLSchema10(str(schema_path(SCHEMA_FILES[kind])))
        return schema


def validate_xml(source: Source, *, detailed: bool = False, max_bytes: int | None = None) -> tuple[Problem, ...]:
    """Validate the document in ``source`` (bytes or a path); return its problems, empty when valid.

    With ``detailed`` a document that fails the fast path is validated again
    with xmlschema for the full list of problems (see the module docstring).
    A document that cannot be read, is too large, has a DOCTYPE or is not
    XML returns one problem that describes the failure. ``max_bytes`` defaults to
    ``documents.max_xml_bytes``.
    """
    try:
        tree = parse_tree(source, default_max_bytes() if max_bytes is None else max_bytes)
        return validate_tree(tree, detailed=detailed)
    except InvalidDocumentError as exc:
        return exc.problems


def check_xml(source: Source, *, max_bytes: int | None = None) -> DocumentKind:
    """Validate ``source`` and return its kind, or raise InvalidDocumentError listing every problem."""
    tree = parse_tree(source, default_max_bytes() if max_bytes is None else max_bytes)
    problems = validate_tree(tree, detailed=True)
    if problems:
        raise InvalidDocumentError(problems, source=source_name(source))
    return document_kind(tree.getroot())


def validate_tree(tree: etree._ElementTree, *, detailed: bool = False) -> tuple[Problem, ...]:
    """Validate a tree parsed with :func:`~adapter.xml.parse_tree`; see :func:`validate_xml`."""
    kind = document_kind(tree.getroot())
    fast, constraints = _fast_schema(kind)
    if fast.validate(tree) and _identity_holds(tree.getroot(), constraints):
        return ()
    schema = libxml2_schema(kind)
    if schema.validate(tree):
        return ()
    fast_problems = tuple(_libxml2_problems(tree, schema.error_log))
    if not detailed:
        return fast_problems
    detailed_problems = _xmlschema_problems(kind, tree)
    # The two validators agree on valid documents; if xmlschema found nothing,
    # libxml2's own messages are still the truth about this document.
    return detailed_problems or fast_problems


# Fast path: libxml2's error log


_LIBXML2_VALUE = re.compile(r"'([^']*)'(?= is not| has a length| does not)|The value '([^']*)'")


def _libxml2_problems(tree: etree._ElementTree, log: etree._ListErrorLog) -> Iterable[Problem]:
    resolver = _PathResolver(tree)
    for entry in log:
        path = resolver.resolve(entry.path or "")
        reason = entry.message
        field = _field_name(path)
        if _last_step(path) in PERSONAL_ELEMENTS:
            reason = _LIBXML2_VALUE.sub(lambda match: _masked_quote(match, field), reason)
        yield Problem(
            "schema",
            N_("the document does not match the schema: {reason}"),
            field=field,
            location=SCHEMA_LOCATION if path else None,
            line=entry.line or None,
            params={"reason": reason, "path": path, "line": entry.line},
        )


def _masked_quote(match: re.Match[str], field: str | None) -> str:
    """Return one quoted value of a libxml2 message with the value masked."""
    value = match.group(1) if match.group(1) is not None else match.group(2)
    masked = f"'{mask_personal(field, value)}'"
    return masked if match.group(1) is not None else f"The value {masked}"


# Detailed path: xmlschema


def _xmlschema_problems(kind: DocumentKind, tree: etree._ElementTree) -> tuple[Problem, ...]:
    schema = xmlschema_schema(kind)
    namespaces = {"": namespace_of(kind)}
    seen: dict[tuple[str, str], Problem] = {}
    for error in schema.iter_errors(tree, namespaces=namespaces):
        problem = _problem_from_error(schema, kind, error)
        # A value that fails both a restriction and its base is reported once,
        # with the restriction's (narrower) message, which xmlschema reports last.
        seen[(problem.location_path, problem.code)] = problem.problem
    return tuple(seen.values())


@dataclass(frozen=True, slots=True)
class _Converted:
    location_path: str
    code: str
    problem: Problem


def _problem_from_error(schema: xmlschema.XMLSchema10, kind: DocumentKind, error: xmlschema.XMLSchemaValidationError) -> _Converted:
    path = _plain_path(error.path or "")
    line = getattr(error, "sourceline", None) or getattr(error.elem, "sourceline", None)
    element = _last_step(path)
    personal = element in PERSONAL_ELEMENTS
    value = None if personal or not isinstance(error.obj, str) else error.obj
    if personal and isinstance(error.obj, str):
        shown: object = f'"{mask_personal(_field_name(path), error.obj)}"'
    elif personal:
        shown = _LocalizedText(N_("(hidden: personal data)"))
    elif isinstance(error.obj, str):
        shown = f'"{error.obj}"'
    else:
        shown = ""
    params: dict[str, object] = {"path": path, "line": line if line is not None else "?", "shown": shown, "element": element}
    validator = error.validator
    code, message = "schema", N_("{field}: {reason}")
    field: str | None = None

    if isinstance(error, xmlschema.XMLSchemaChildrenValidationError):
        if error.invalid_tag is not None:
            code, message = "unexpected-element", N_("element {child} is not expected in {element} here; expected: {expected}")
            params["child"] = _local_name(error.invalid_tag)
        else:
            code, message = "missing-element", N_("element {element} lacks a required element; expected: {expected}")
        params["expected"] = _expected_children(error)
    elif isinstance(validator, xmlschema.validators.XsdEnumerationFacets):
        code, message = "invalid-value", N_("{field}: invalid value {shown}; allowed values: {allowed}")
        params["allowed"] = ", ".join(str(item) for item in validator.enumeration)
    elif isinstance(validator, (xmlschema.validators.XsdPatternFacets, xmlschema.validators.XsdUnion)) or _is_type_error(error):
        code, message = "invalid-value", N_("{field}: invalid value {shown}; expected: {expected}")
        params["expected"] = _expected_form(schema, kind, path, validator)
    elif type(validator).__name__ in ("XsdMaxLengthFacet", "XsdLengthFacet"):
        code, message = "too-long", N_("{field}: the value is longer than {limit} characters")
        params["limit"] = validator.value
    elif type(validator).__name__ == "XsdMinLengthFacet":
        code, message = "empty-value", N_("{field}: the value is empty; write a value")
    elif type(validator).__name__ == "XsdMinInclusiveFacet":
        code, message = "invalid-value", N_("{field}: invalid value {shown}; the smallest allowed value is {limit}")
        params["limit"] = validator.value
    elif str(error.reason).startswith("missing required attribute"):
        code, message = "missing-attribute", N_("element {element} lacks the required attribute {attribute}")
        params["attribute"] = str(error.reason).rsplit(" ", 1)[-1].strip("'\"")
    elif str(error.reason).startswith("duplicated value"):
        code, message = "duplicate-number", N_("{field}: number {number} is used more than once; give each item its own number")
        params["number"] = _constraint_value(error)
        path = f"{path}/number"
    elif " not found for " in str(error.reason):
        # xmlschema reports a broken key reference on the root element.
        code, message = "unknown-fact", N_("{field}: evidence refers to fact {number}, which is not in the document; use the number of one of the facts")
        params["number"] = _constraint_value(error)
        path = params["path"] = f"{path}/evidence"
        field = "evidence.fact"
    else:
        params["reason"] = _LocalizedText(None, fallback=error.reason or str(error))

    problem = Problem(
        code,
        message,
        field=field or _field_name(path),
        value=value,
        location=SCHEMA_LOCATION,
        line=line,
        params=params,
    )
    return _Converted(path, code, problem)


def _is_type_error(error: xmlschema.XMLSchemaValidationError) -> bool:
    return isinstance(error, xmlschema.XMLSchemaDecodeError) or type(error.validator).__name__ == "XsdAtomicBuiltin"


def _constraint_value(error: xmlschema.XMLSchemaValidationError) -> str:
    """Return the key value named in an identity-constraint error of xmlschema."""
    match = re.search(r"value \(([^)]*)\)", str(error.reason))
    return match.group(1).strip(" ,'\"") if match else "?"


def _expected_children(error: xmlschema.XMLSchemaChildrenValidationError) -> str:
    expected = getattr(error, "expected", None) or []
    names = []
    for item in expected:
        name = getattr(item, "name", None) or str(item)
        names.append(_local_name(name))
    if not names:
        return _LocalizedText(N_("no more elements"))  # type: ignore[return-value]
    return ", ".join(dict.fromkeys(names))


_BUILTIN_FORMS = {
    "positiveInteger": N_("a whole number from 1"),
    "unsignedLong": N_("a whole number"),
    "date": N_("a date as YYYY-MM-DD"),
    "ID": N_("an identifier that starts with a letter"),
}


def _expected_form(schema: xmlschema.XMLSchema10, kind: DocumentKind, path: str, validator: object) -> object:
    """Describe the expected value: the documentation of the element's type, or of the element."""
    declaration = _declaration(schema, kind, path)
    for component in (getattr(declaration, "type", None), declaration):
        text = _documentation(component)
        if text is not None:
            return text
    builtin = getattr(getattr(declaration, "type", None), "primitive_type", None)
    local = _local_name(getattr(builtin, "name", "") or "")
    if local in _BUILTIN_FORMS:
        return _LocalizedText(_BUILTIN_FORMS[local])
    patterns = getattr(validator, "patterns", None)
    if patterns:
        return " | ".join(pattern.pattern for pattern in patterns)
    return _LocalizedText(N_("a value allowed by the schema"))


def _declaration(schema: xmlschema.XMLSchema10, kind: DocumentKind, path: str) -> object | None:
    steps = [re.sub(r"\[\d+\]$", "", step) for step in path.strip("/").split("/") if step]
    if not steps:
        return None
    query = "/" + "/".join(f"n:{step}" for step in steps if not step.startswith("@"))
    try:
        return schema.find(query, namespaces={"n": namespace_of(kind)})
    except Exception:  # noqa: BLE001 - a path xmlschema cannot resolve just has no documentation
        return None


def _documentation(component: object) -> _LocalizedText | None:
    annotation = getattr(component, "annotation", None)
    documentation = getattr(annotation, "documentation", None) if annotation is not None else None
    if not documentation:
        return None
    texts = {item.get(_XML_LANG): (item.text or "").strip() for item in documentation if item.tag == _XSD_DOCUMENTATION}
    texts = {language: text for language, text in texts.items() if language and text}
    if not texts:
        return None
    return _LocalizedText(None, texts=texts)


class _LocalizedText:
    """A parameter that renders in the current language when a problem is shown.

    ``message`` is a gettext id; ``texts`` maps language to a ready text (the
    schema's documentation); ``fallback`` is used when neither applies.
    """

    __slots__ = ("fallback", "message", "texts")

    def __init__(self, message: str | None, *, texts: dict[str, str] | None = None, fallback: str = "") -> None:
        self.message = message
        self.texts = texts or {}
        self.fallback = fallback

    def __str__(self) -> str:
        language = current_language()
        if self.texts:
            return self.texts.get(language) or self.texts.get("en") or next(iter(self.texts.values()))
        if self.message is not None:
            return gettext(self.message, language)
        return self.fallback

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __repr__(self) -> str:
        return f"_LocalizedText({self.message or self.fallback or self.texts.get('en')!r})"


# Paths and field names


def _plain_path(path: str) -> str:
    """Drop namespace prefixes and Clark namespaces from an XPath."""
    path = re.sub(r"\{[^}]*\}", "", path)
    return re.sub(r"(?<=/)[A-Za-z_][\w.-]*:", "", path)


class _PathResolver:
    """Turn libxml2's ``/*/*[3]/*[2]`` into ``/notification/facts/fact[2]``, as xmlschema writes paths.

    lxml finds the n-th child by walking the siblings, so each parent's
    children are listed once and reused: a document with 100,000 invalid
    facts is resolved in linear time.
    """

    _STEP = re.compile(r"\*\[(\d+)\]|\*")

    def __init__(self, tree: etree._ElementTree) -> None:
        self.root = tree.getroot()
        self.children: dict[etree._Element, list[etree._Element]] = {}
        self.ordinals: dict[etree._Element, list[int]] = {}

    def resolve(self, path: str) -> str:
        steps = path.strip("/").split("/") if path else []
        if not steps or self._STEP.fullmatch(steps[0]) is None:
            return path
        element = self.root
        readable = [_local_name(element.tag)]
        for step in steps[1:]:
            match = self._STEP.fullmatch(step)
            if match is None:
                return path
            children = self._children_of(element)
            position = int(match.group(1) or 1) - 1
            if position >= len(children):
                return path
            ordinal = self.ordinals[element][position]
            element = children[position]
            name = _local_name(element.tag)
            readable.append(f"{name}[{ordinal}]" if ordinal else name)
        return "/" + "/".join(readable)

    def _children_of(self, parent: etree._Element) -> list[etree._Element]:
        children = self.children.get(parent)
        if children is None:
            children = self.children[parent] = [child for child in parent if isinstance(child.tag, str)]
            counts: dict[str, int] = {}
            for child in children:
                counts[child.tag] = counts.get(child.tag, 0) + 1
            seen: dict[str, int] = {}
            ordinals = []
            for child in children:
                seen[child.tag] = seen.get(child.tag, 0) + 1
                # Like xmlschema, index an element only when its tag repeats.
                ordinals.append(seen[child.tag] if counts[child.tag] > 1 else 0)
            self.ordinals[parent] = ordinals
        return children


def _last_step(path: str) -> str:
    step = _plain_path(path).rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"\[\d+\]$", "", step)


_LIST_CONTAINERS = {"facts": "fact", "employees": "employee", "evidence": "file"}


def _field_name(path: str) -> str | None:
    """Map ``/notification/facts/fact[5]/imei`` to the model's field name ``facts.imei``."""
    steps = [re.sub(r"\[\d+\]$", "", step) for step in _plain_path(path).strip("/").split("/") if step]
    if len(steps) <= 1:
        return steps[0] if steps else None
    steps = steps[1:]
    if steps[0] in _LIST_CONTAINERS and len(steps) > 1 and steps[1] == _LIST_CONTAINERS[steps[0]]:
        del steps[1]
    return ".".join(_snake_case(step) for step in steps)


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].split(":")[-1]

"""CLI commands ``build`` and ``validate``; see :func:`register`."""

from __future__ import annotations

import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import click

from ..errors import InvalidDocumentError
from ..i18n import N_, gettext as _, translate
from ..model import Document, DocumentKind, Notification
from ..outputs import check_output_folder, replacing
from ..xml.builder import write_xml
from ..xml.namespaces import document_kind, namespace_of
from ..xml.schema import validate_tree
from ..xml.security import parse_tree

__all__ = ["register"]

if TYPE_CHECKING:
    from .context import CliContext

#: Minimum number of facts or employees for which ``build`` shows a progress bar.
PROGRESS_MIN_ITEMS = 10_000


def register(group: click.Group) -> None:
    """Add this area's commands to ``group``."""
    group.add_command(build)
    group.add_command(validate)


@click.command(
    "build",
    short_help=N_("Build the XML of a notification or roster from an input file."),
    help=N_(
        "Build the XML of a notification or roster from INPUT (TOML or JSON). "
        "The XML is validated against its schema before it is written, so an invalid document is never written."
    ),
)
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False, exists=True))
@click.option("--facts", "facts_path", metavar="FILE", type=click.Path(dir_okay=False, exists=True), default=None, help=N_("CSV or XLSX file with the facts of a notification."))
@click.option("-o", "--output", metavar="OUT.xml", type=click.Path(dir_okay=False, allow_dash=True), default=None, help=N_("Output XML file; - writes to standard output (default: INPUT with the suffix .xml)."))
@click.pass_obj
def build(cli: CliContext, input_path: str, facts_path: str | None, output: str | None) -> None:
    from ..inputs import load_input

    if output and output != "-":
        check_output_folder(output)
    document = load_input(input_path, facts_file=facts_path, config=cli.config)
    target = Path(output) if output and output != "-" else Path(input_path).with_suffix(".xml")
    if output == "-":
        with tempfile.TemporaryDirectory() as folder:
            checked = Path(folder) / target.name
            _write_checked(cli, document, checked, source=str(target))
            with checked.open("rb") as data:
                _copy_to_stdout(data)
    else:
        with replacing(target) as temporary:
            _write_checked(cli, document, temporary, source=str(target))
    message = _built_message(document, "-" if output == "-" else str(target))
    click.echo(message, err=output == "-")


def _write_checked(cli: CliContext, document: Document, path: Path, *, source: str) -> None:
    """Write the XML of ``document`` to ``path``; raise InvalidDocumentError unless it is valid against its schema."""
    _write_with_progress(document, path)
    tree = parse_tree(path, cli.config.documents.max_xml_bytes)
    problems = validate_tree(tree, detailed=True)
    del tree
    if problems:
        raise InvalidDocumentError(problems, source=source)


def _write_with_progress(document: Document, path: Path) -> None:
    total = len(document.facts) if isinstance(document, Notification) else len(document.employees)
    with ExitStack() as stack:
        progress = None
        if total >= PROGRESS_MIN_ITEMS and sys.stderr.isatty():
            bar = stack.enter_context(click.progressbar(length=total, label=_("Writing XML"), file=sys.stderr))
            written = [0]

            def progress(count: int) -> None:
                bar.update(count - written[0])
                written[0] = count

        write_xml(document, path, progress=progress)


def _copy_to_stdout(data: BinaryIO) -> None:
    stdout = sys.stdout.buffer
    while chunk := data.read(1024 * 1024):
        stdout.write(chunk)
    stdout.flush()


def _built_message(document: Document, path: str) -> str:
    if isinstance(document, Notification):
        return translate(
            N_("{path}: notification {number} with {count} fact(s), valid against the schema"),
            path=path,
            number=document.header.number,
            count=len(document.facts),
        )
    return translate(
        N_("{path}: roster {number} with {count} employee(s), valid against the schema"),
        path=path,
        number=document.header.number,
        count=len(document.employees),
    )


@click.command(
    "validate",
    short_help=N_("Check an XML notification or roster against its schema."),
    help=N_(
        "Check FILE.xml against the schema of a notification or roster and list every problem with its path and line. "
        "Exit status 0 means valid, 1 invalid."
    ),
)
@click.argument("xml_path", metavar="FILE.xml", type=click.Path(dir_okay=False, exists=True))
@click.pass_obj
def validate(cli: CliContext, xml_path: str) -> None:
    tree = parse_tree(xml_path, cli.config.documents.max_xml_bytes)
    problems = validate_tree(tree, detailed=True)
    if problems:
        click.echo(translate(N_("{path}: {count} problem(s) found"), path=xml_path, count=len(problems)), err=True)
        for problem in problems:
            click.echo("  " + problem.localized(), err=True)
        raise click.exceptions.Exit(1)
    root = tree.getroot()
    kind = document_kind(root)
    if kind is DocumentKind.NOTIFICATION:
        count = len(root.findall(f"{{{namespace_of(kind)}}}facts/{{{namespace_of(kind)}}}fact"))
        click.echo(translate(N_("{path}: valid notification with {count} fact(s)"), path=xml_path, count=count))
    else:
        count = len(root.findall(f"{{{namespace_of(kind)}}}employees/{{{namespace_of(kind)}}}employee"))
        click.echo(translate(N_("{path}: valid roster with {count} employee(s)"), path=xml_path, count=count))

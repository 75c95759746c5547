"""CLI command ``render``: an XML notification, roster or receipt as HTML or PDF."""

from __future__ import annotations

from pathlib import Path

import click

from ..i18n import N_, gettext as _, translate
from ..outputs import check_output_folder
from ..render.files import RenderFormat, render_file
from ..render.signature import SignatureState
from .context import CliContext, pass_context

__all__ = ["register"]

_LANGUAGES = ("kk", "ru", "en")


def _chosen_format(format_name: str | None, out: str | None) -> RenderFormat:
    """Return the output format: the option, else the suffix of ``-o``, else PDF."""
    if format_name:
        return RenderFormat.parse(format_name)
    if out:
        return RenderFormat.from_suffix(Path(out))
    return RenderFormat.PDF


@click.command("render", short_help=N_("Render an XML notification, roster or receipt as HTML or PDF."), help=N_("Render an XML notification, roster or receipt as HTML or PDF, in Kazakh, Russian or English. A signed document shows its signature block. The signature is verified when trust anchors are configured ([trust] anchors), or for a receipt when [sender] receiver_certificate is set."))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "format_name", type=click.Choice([item.value for item in RenderFormat]), default=None, help=N_("Output format: html or pdf (default: from the suffix of -o, else pdf)."))
@click.option("--lang", "language", type=click.Choice(_LANGUAGES), default=None, help=N_("Language of the form: kk, ru or en (default: the document's own language)."))
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False), default=None, help=N_("Output file (default: FILE with the suffix .html or .pdf)."))
@click.option("--no-verify", is_flag=True, help=N_("Do not verify the signature; the form shows it as not verified."))
@pass_context
def render_command(context: CliContext, file: Path, format_name: str | None, language: str | None, out: str | None, no_verify: bool) -> None:
    chosen = _chosen_format(format_name, out)
    if out:
        check_output_folder(out)
    rendered = render_file(file, format=chosen, language=language, out=out, config=context.config, verify=not no_verify)
    if not no_verify and rendered.signature is not None and rendered.signature.state is SignatureState.NOT_VERIFIED:
        click.echo(_("Note: the signature was not verified; configure trust anchors in [trust] anchors to verify it."), err=True)
    click.echo(translate(N_("Wrote {path}"), path=str(rendered.path)))


def register(group: click.Group) -> None:
    """Add the ``render`` command to ``group``."""
    group.add_command(render_command)

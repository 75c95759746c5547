"""CLI commands of the authorised body's receiving side: inbox, register, refuse, decide, export-confirmed, serve."""

from __future__ import annotations

import logging
import sys
import textwrap

import click

from ..i18n import N_, gettext as _, translate
from .context import CliContext, pass_context

logger = logging.getLogger(__name__)

_SUMMARY_NAMES = {
    "pending": N_("pending"),
    "all confirmed": N_("all confirmed"),
    "partly confirmed": N_("partly confirmed"),
    "all rejected": N_("all rejected"),
}
_ROLE_NAMES = {
    "head": N_("head"),
    "deputy": N_("deputy"),
    "employee": N_("employee"),
}


#: Characters of a sender's name shown in the inbox listing.
SENDER_NAME_WIDTH = 40
#: Largest value of ``serve --workers``.
MAX_WORKERS = 256


def _shorten(text: str, width: int) -> str:
    """Return ``text`` cut at a word boundary to at most ``width`` characters, ending with an ellipsis when cut."""
    shortened = textwrap.shorten(text, width=width, placeholder="…")
    if shortened == "…":
        # The first word alone is longer than ``width``.
        return text[: width - 1] + "…"
    return shortened


def _registrar(context: CliContext):
    from ..exchange.receiver import load_receiver_signer, open_inbox
    from ..exchange.registrar import Registrar

    return Registrar(context.config, signer=load_receiver_signer(context.config), store=open_inbox(context.config))


def _reader(context: CliContext):
    """Return a registrar for read-only commands; it loads no key, so no password is needed."""
    from ..exchange.receiver import open_inbox
    from ..exchange.registrar import Registrar

    return Registrar(context.config, signer=None, store=open_inbox(context.config))


@click.command("inbox", short_help=N_("List received documents."), help=N_("List the documents the receiving service accepted: id, time received, state, sender, signer and role, and how many facts are confirmed, rejected and pending."))
@click.option("--state", type=click.Choice(["received", "registered", "refused", "decided"]), default=None, help=N_("Show only documents in this state."))
@pass_context
def inbox_command(context: CliContext, state: str | None) -> None:
    entries = _reader(context).list_inbox(state=state)
    if not entries:
        click.echo(_("The inbox is empty."))
        return
    headers = [_("id"), _("received"), _("state"), _("document"), _("sender"), _("signer (role)"), _("confirmed/rejected/pending")]
    rows = []
    for entry in entries:
        state_text = _(entry.state.label)
        if entry.registration_number:
            state_text += f" {entry.registration_number}"
        if entry.kind == "notification" and entry.state.value in ("registered", "decided"):
            state_text += f" ({_(_SUMMARY_NAMES[entry.summary])})"
        rows.append(
            [
                str(entry.id),
                entry.received_at.strftime("%Y-%m-%d %H:%M"),
                state_text,
                f"{entry.doc_no} {entry.doc_date.isoformat()}",
                f"{entry.sender_bin} {_shorten(entry.sender_name, SENDER_NAME_WIDTH)}",
                f"{entry.signer_name} ({_(_ROLE_NAMES.get(entry.signer_role, entry.signer_role))})",
                f"{entry.confirmed}/{entry.rejected}/{entry.pending}",
            ]
        )
    widths = [max(len(row[index]) for row in [headers, *rows]) for index in range(len(headers))]
    for row in [headers, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@click.command("register", short_help=N_("Register a received document."), help=N_("Register a received document under the next registration number and queue a signed 'registered' receipt for the sender."))
@click.argument("document_id", type=int)
@pass_context
def register_command(context: CliContext, document_id: int) -> None:
    receipt = _registrar(context).register(document_id)
    click.echo(translate(N_("Document {id} registered as {number}; receipt {receipt} queued for the sender."), id=document_id, number=receipt.registration_number, receipt=receipt.id))


@click.command("refuse", short_help=N_("Refuse to register a received document."), help=N_("Refuse to register a received document and queue a signed 'refused' receipt. The reason is a code: 1 bad link, 2 signature check failed, 3 violates the procedure rules; or a text."))
@click.argument("document_id", type=int)
@click.option("--reason", required=True, help=N_("Reason code 1, 2 or 3, or a text that explains the refusal."))
@pass_context
def refuse_command(context: CliContext, document_id: int, reason: str) -> None:
    if not reason.strip():
        raise click.UsageError(_("--reason is empty; give a reason code 1, 2 or 3, or a text that explains the refusal"))
    receipt = _registrar(context).refuse(document_id, reason)
    click.echo(translate(N_("Document {id} refused; receipt {receipt} queued for the sender."), id=document_id, receipt=receipt.id))


@click.command("decide", short_help=N_("Confirm or reject facts of a registered notification."), help=N_("Confirm or reject facts of a registered notification and queue a signed decision receipt. Facts are numbers and ranges such as 1,2,5-7. A rejection needs --justification. Each fact is decided once; use --amend to change a decision."))
@click.argument("document_id", type=int)
@click.option("--confirm", default=None, help=N_("Facts to confirm, such as 1,2,5-7."))
@click.option("--reject", default=None, help=N_("Facts to reject, such as 3,4."))
@click.option("--justification", default=None, help=N_("Why the rejected facts are no violation (required with --reject)."))
@click.option("--amend", is_flag=True, help=N_("Change decisions already made."))
@pass_context
def decide_command(context: CliContext, document_id: int, confirm: str | None, reject: str | None, justification: str | None, amend: bool) -> None:
    # Arguments are checked before the receipt key is loaded, which may ask for its password.
    if not (confirm or "").strip() and not (reject or "").strip():
        raise click.UsageError(_("name the facts to decide with --confirm and/or --reject, such as --confirm 1-3 --reject 4"))
    registrar = _registrar(context)
    receipt = registrar.decide(document_id, confirm=confirm, reject=reject, justification=justification, amend=amend)
    entry = registrar.get(document_id)
    click.echo(
        translate(
            N_("Document {id}: {confirmed} confirmed, {rejected} rejected, {pending} pending; receipt {receipt} queued for the sender."),
            id=document_id,
            confirmed=entry.confirmed,
            rejected=entry.rejected,
            pending=entry.pending,
            receipt=receipt.id,
        )
    )


@click.command("export-confirmed", short_help=N_("Export confirmed facts for blocking."), help=N_("Write every confirmed fact once, with the document and time it was first confirmed in, as CSV or JSON."))
@click.option("--format", "output_format", type=click.Choice(["csv", "json"]), default="csv", show_default=True, help=N_("Output format."))
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None, help=N_("Output file (default: standard output)."))
@pass_context
def export_confirmed_command(context: CliContext, output_format: str, output: str | None) -> None:
    registrar = _reader(context)
    text = registrar.export_confirmed(output, format=output_format)
    if output is None:
        sys.stdout.write(text)
    else:
        click.echo(translate(N_("Confirmed facts written to {path}."), path=output), err=True)


@click.command("serve", short_help=N_("Run the receiving service or a sender's receipt endpoint."), help=N_("Run a SOAP service with waitress. With --role receiver (the default) it is the authorised body's receiving service (SyncChannel and AsyncChannel) on [receiver] host and port; with --role sender it is a sender's endpoint for pushed receipts on [sender] push_host and push_port."))
@click.option("--role", type=click.Choice(["receiver", "sender"]), default="receiver", show_default=True, help=N_("Which side to serve: the authorised body's receiving service, or a sender's endpoint for pushed receipts."))
@click.option("--host", default=None, help=N_("Address to listen on (default: from the configuration of the role)."))
@click.option("--port", type=click.IntRange(1, 65535), default=None, help=N_("TCP port to listen on (default: from the configuration of the role)."))
@click.option("--workers", type=click.IntRange(1, MAX_WORKERS), default=None, help=N_("Worker processes, each with [service] threads threads; about one per CPU core (default: [service] workers). More than 1 needs a POSIX system."))
@pass_context
def serve_command(context: CliContext, role: str, host: str | None, port: int | None, workers: int | None) -> None:
    from ..service.server import serve
    from ..transport.settings import ServiceSettings

    config = context.config
    if not context.verbose:
        logging.getLogger().setLevel(logging.INFO)
    service = config.section("service", ServiceSettings)
    worker_count = workers or service.workers
    if role == "sender":
        from ..exchange.sender import SenderClient, SenderSettings, create_push_app

        sender_settings = config.section("sender", SenderSettings)
        default_host, default_port = sender_settings.push_host, sender_settings.push_port
        if worker_count > 1:
            # Check the configuration and create the tables once, before the workers race to.
            with SenderClient(config) as client:
                client.store
                client.receiver_certificates()

        def build_app() -> object:
            return create_push_app(config)

    else:
        from ..exchange.receiver import create_wsgi_app, load_receiver_signer, load_receiver_signer_for_workers, open_inbox, receiver_settings

        settings = receiver_settings(config)
        default_host, default_port = settings.host, settings.port
        signer = load_receiver_signer(config) if worker_count == 1 else load_receiver_signer_for_workers(config)
        if worker_count > 1:
            # Fail here on a bad configuration, and create the inbox tables once;
            # the database connection is closed before the workers fork.
            with open_inbox(config) as inbox:
                if signer is not None:
                    create_wsgi_app(config, signer=signer, store=inbox)

        def build_app() -> object:
            # A PKCS#12 signer loaded above is inherited; a PKCS#11 signer is None and loaded per worker.
            return create_wsgi_app(config, signer=signer)

    def announce(url: str) -> None:
        click.echo(translate(N_("Service listening on {url} (stop with Ctrl+C)."), url=url), err=True)

    serve(
        None,
        host or default_host,
        port or default_port,
        service.threads,
        max_request_bytes=service.max_request_bytes,
        on_listening=announce,
        workers=worker_count,
        app_factory=build_app,
    )


def register(group: click.Group) -> None:
    """Add the receiving side's commands to ``group``."""
    for command in (inbox_command, register_command, refuse_command, decide_command, export_confirmed_command, serve_command):
        group.add_command(command)

"""CLI commands of the sending side: submit, send, resend, status, watch, receipts, roster, demo."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ..i18n import N_, gettext as _, translate
from ..store.tracking import DecisionOutcome, DocumentState, DocumentStatus, FactDecisionRecord, Transition

__all__ = ["format_decisions", "format_status", "format_timeline", "register"]

EXIT_FAILED = 1

_REFUSAL_REASONS = {
    "1": N_("reason 1: bad link"),
    "2": N_("reason 2: the signature check failed"),
    "3": N_("reason 3: the document violates the procedure rules"),
}

_RECEIPT_KINDS = {
    "delivered": N_("delivered"),
    "registered": N_("registered"),
    "refused": N_("registration refused"),
    "decision": N_("decision on facts"),
}


def _client(ctx_obj: Any, *, key: str | None = None, password_env: str | None = None, password_file: str | None = None) -> Any:
    from ..exchange.sender import SenderClient, load_signer_from_config

    signer = None
    if key or password_env or password_file:
        signer = load_signer_from_config(ctx_obj.config, key=key, password_env=password_env, password_file=password_file)
    return SenderClient(ctx_obj.config, signer=signer)


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _refusal_text(reason: str) -> str:
    """Return a stored refusal reason (``code``, ``code: comment`` or free text) in the current language."""
    code, _separator, comment = reason.partition(": ")
    if code not in _REFUSAL_REASONS:
        return reason
    label = _(_REFUSAL_REASONS[code])
    return f"{label}: {comment}" if comment else label


def format_status(status: DocumentStatus) -> list[str]:
    """Return the lines that describe a document's status, in the current language."""
    kind = _("notification") if status.kind == "notification" else _("staff roster")
    lines = [
        translate(N_("Document {document_id}: {kind} No. {number} of {date}"), document_id=status.document_id, kind=kind, number=status.number, date=status.document_date.isoformat()),
        translate(N_("State: {state}"), state=_(status.state.label)),
    ]
    if status.reason and status.state in (DocumentState.FAILED, DocumentState.RETRYING):
        lines.append(translate(N_("Reason: {reason}"), reason=status.reason))
    elif status.reason and status.state is DocumentState.REFUSED:
        lines.append(translate(N_("Reason: {reason}"), reason=_refusal_text(status.reason)))
    if status.message_id:
        lines.append(translate(N_("Message id: {message_id} (attempts: {attempts})"), message_id=status.message_id, attempts=status.attempts))
    if status.registration_number:
        lines.append(
            translate(
                N_("Registered as {number} on {date}"),
                number=status.registration_number,
                date=status.registration_date.isoformat() if status.registration_date else "-",
            )
        )
    if status.kind == "notification" and (status.confirmed or status.rejected):
        lines.append(translate(N_("Facts: {total}; confirmed {confirmed}, rejected {rejected}"), total=status.item_count, confirmed=status.confirmed, rejected=status.rejected))
    if status.outcome is not None:
        lines.append(translate(N_("Decision: {outcome}"), outcome=_(status.outcome.label)))
    return lines


def format_timeline(transitions: Sequence[Transition]) -> list[str]:
    """Return one line per state change: time, state and the detail that came with it."""
    lines = []
    for item in transitions:
        text = f"{_time(item.at)}  {_(item.state.label)}"
        detail = item.reason
        if item.state is DocumentState.DECIDED and detail:
            detail = _(DecisionOutcome(detail).label)
        elif item.state is DocumentState.REFUSED and detail:
            detail = _refusal_text(detail)
        elif item.state is DocumentState.QUEUED and item.message_id:
            detail = translate(N_("message {message_id}"), message_id=item.message_id)
        if detail:
            text += f"  ({detail})"
        lines.append(text)
    return lines


def format_decisions(decisions: Sequence[FactDecisionRecord]) -> list[str]:
    """Return the decisions: runs of confirmed facts as ranges, each rejection with its justification."""
    lines = []
    run: list[int] = []

    def close_run() -> None:
        if run:
            if len(run) == 1:
                lines.append(translate(N_("fact {fact}: confirmed"), fact=run[0]))
            else:
                lines.append(translate(N_("facts {facts}: confirmed"), facts=f"{run[0]}-{run[-1]}"))
            run.clear()

    for item in decisions:
        if item.decision == "confirmed" and (not run or run[-1] == item.fact - 1):
            run.append(item.fact)
            continue
        close_run()
        if item.decision == "confirmed":
            run.append(item.fact)
        else:
            lines.append(translate(N_("fact {fact}: rejected: {justification}"), fact=item.fact, justification=item.justification or "-"))
    close_run()
    return lines


def _echo_submission(submission: Any) -> None:
    click.echo(
        translate(
            N_("Document {document_id} ({number}): {state}; message id {message_id}"),
            document_id=submission.document_id,
            number=submission.number,
            state=_(submission.state.label),
            message_id=submission.message_id,
        )
    )
    if submission.preview is not None:
        click.echo(translate(N_("Preview written to {path}"), path=str(submission.preview)))
    if submission.state is DocumentState.RETRYING:
        click.echo(translate(N_("Not sent yet: {reason}. The document is kept; run 'edms-adapter resend' to send it again under the same message id."), reason=submission.reason or "-"), err=True)
    elif submission.state is DocumentState.FAILED:
        click.echo(translate(N_("The gateway rejected the document: {reason}"), reason=submission.reason or "-"), err=True)


def _finish(submission: Any) -> None:
    _echo_submission(submission)
    if not submission.sent:
        raise click.exceptions.Exit(EXIT_FAILED)


_key_option = click.option("--key", default=None, help=N_("Signing key: a .p12 file or a pkcs11: URI (default: signing.key in the configuration)."))
_password_env_option = click.option("--password-env", default=None, help=N_("Environment variable that contains the key password or token PIN."))
_resubmit_option = click.option("--resubmit", is_flag=True, help=N_("Send a new copy of a document whose number and date were submitted before."))
_password_file_option = click.option("--password-file", type=click.Path(dir_okay=False), default=None, help=N_("File whose first line is the key password or token PIN."))


@click.command("submit", short_help=N_("Submit a notification."), help=N_("Build, validate, sign, send and track a notification from an input file."))
@click.argument("input_file", metavar="INPUT", type=click.Path(exists=True, dir_okay=False))
@click.option("--facts", "facts_file", type=click.Path(exists=True, dir_okay=False), default=None, help=N_("Facts from a CSV or XLSX file instead of the input file."))
@click.option("--preview", type=click.Path(dir_okay=False), default=None, help=N_("Also render the document to this .html or .pdf file before it is signed."))
@_key_option
@_password_env_option
@_password_file_option
@_resubmit_option
@click.pass_obj
def submit_command(obj: Any, input_file: str, facts_file: str | None, preview: str | None, key: str | None, password_env: str | None, password_file: str | None, resubmit: bool) -> None:
    with _client(obj, key=key, password_env=password_env, password_file=password_file) as client:
        _finish(client.submit(input_file, facts_file=facts_file, preview=preview, resubmit=resubmit))


@click.command("send", short_help=N_("Send a document signed elsewhere."), help=N_("Verify and send a document signed elsewhere; evidence files are looked up beside it."))
@click.argument("signed_file", metavar="SIGNED.xml", type=click.Path(exists=True, dir_okay=False))
@click.option("--evidence", "evidence_folders", multiple=True, type=click.Path(exists=True, file_okay=False), help=N_("Another folder to look for evidence files in; repeat for several."))
@_resubmit_option
@click.pass_obj
def send_command(obj: Any, signed_file: str, evidence_folders: tuple[str, ...], resubmit: bool) -> None:
    with _client(obj) as client:
        _finish(client.send(signed_file, evidence_folders=evidence_folders, resubmit=resubmit))


@click.command("resend", short_help=N_("Send stored documents again."), help=N_("Send a stored document again under its first message id; without ID, every document not yet sent."))
@click.argument("identifier", metavar="[ID]", required=False)
@click.pass_obj
def resend_command(obj: Any, identifier: str | None) -> None:
    with _client(obj) as client:
        submissions = (client.resend(identifier),) if identifier else client.send_pending()
        if not submissions:
            click.echo(_("No document is waiting to be sent."))
        for submission in submissions:
            _echo_submission(submission)
        if any(not submission.sent for submission in submissions):
            raise click.exceptions.Exit(EXIT_FAILED)


@click.command("status", short_help=N_("Show the status of documents."), help=N_("Show the status of a document (by id, message id or number), or list the latest documents."))
@click.argument("identifier", metavar="[ID]", required=False)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help=N_("Number of documents to list without ID."))
@click.pass_obj
def status_command(obj: Any, identifier: str | None, limit: int) -> None:
    with _client(obj) as client:
        if identifier is None:
            documents = client.recent(limit)
            if not documents:
                click.echo(_("No documents have been sent yet."))
            for status in documents:
                click.echo(f"{_time(status.created_at)}  {status.document_id}  {status.number}  {_(status.state.label)}")
            return
        status = client.status(identifier)
        for line in format_status(status):
            click.echo(line)
        click.echo(_("Timeline:"))
        for line in format_timeline(client.timeline(identifier)):
            click.echo(f"  {line}")
        _echo_decisions(client, identifier)


def _echo_decisions(client: Any, identifier: str) -> None:
    decisions = client.store.decisions(identifier)
    if decisions:
        click.echo(_("Decisions:"))
        for line in format_decisions(decisions):
            click.echo(f"  {line}")


@click.command("watch", short_help=N_("Follow a document until it is decided."), help=N_("Follow a document until the authorised body has decided, refused it, or sending failed."))
@click.argument("identifier", metavar="ID")
@click.option("--timeout", type=click.FloatRange(0), default=None, help=N_("Seconds to wait (default: sender.watch_timeout_seconds)."))
@click.option("--interval", type=click.FloatRange(0.1), default=None, help=N_("Seconds between checks (default: sender.watch_poll_seconds)."))
@click.pass_obj
def watch_command(obj: Any, identifier: str, timeout: float | None, interval: float | None) -> None:
    def progress(status: DocumentStatus) -> None:
        click.echo(f"{_time(status.updated_at)}  {status.number}  {_(status.state.label)}")

    with _client(obj) as client:
        status = client.watch(identifier, timeout=timeout, poll_seconds=interval, progress=progress)
        if not status.final:
            click.echo(translate(N_("Still {state} when the wait ended; run 'edms-adapter watch {identifier}' again later."), state=_(status.state.label), identifier=identifier), err=True)
            raise click.exceptions.Exit(EXIT_FAILED)
        for line in format_status(status):
            click.echo(line)
        _echo_decisions(client, status.document_id)


@click.group("receipts", help=N_("Receipts of the authorised body."))
def receipts_group() -> None:
    pass


@receipts_group.command("pull", short_help=N_("Fetch and verify receipts."), help=N_("Fetch waiting receipts from the gateway, verify their signatures and update the documents."))
@click.pass_obj
def receipts_pull_command(obj: Any) -> None:
    with _client(obj) as client:
        result = client.pull_receipts()
    for record in result.accepted:
        click.echo(
            translate(
                N_("receipt {receipt}: {kind} for message {message_id} (gateway message {gateway_message_id})"),
                receipt=record.receipt_id or "-",
                kind=_(_RECEIPT_KINDS.get(record.kind or "", "-")),
                message_id=record.referenced_message_id or "-",
                gateway_message_id=record.gateway_message_id,
            )
        )
    for record in result.unmatched:
        click.echo(translate(N_("receipt {receipt} refers to message {message_id}, which this sender has no record of; it is kept for review"), receipt=record.gateway_message_id, message_id=record.referenced_message_id or "-"), err=True)
    for rejected in result.rejected:
        click.echo(translate(N_("receipt {receipt} ignored: {reason}"), receipt=rejected.gateway_message_id, reason=rejected.reason), err=True)
    click.echo(translate(N_("{accepted} receipt(s) accepted, {rejected} ignored."), accepted=len(result.accepted), rejected=len(result.rejected)))
    if result.rejected:
        raise click.exceptions.Exit(EXIT_FAILED)


@receipts_group.command("list", short_help=N_("List stored receipts."), help=N_("List the receipts stored for a document, or for all documents: time, kind, validity and the problem of an invalid one."))
@click.argument("identifier", metavar="[ID]", required=False)
@click.option("--invalid", is_flag=True, help=N_("Only receipts that failed verification."))
@click.pass_obj
def receipts_list_command(obj: Any, identifier: str | None, invalid: bool) -> None:
    with _client(obj) as client:
        records = client.store.receipts(identifier, valid=False if invalid else None)
    if not records:
        click.echo(_("No receipts are stored."))
    for record in records:
        kind = _(_RECEIPT_KINDS.get(record.kind or "", "-"))
        validity = _("signature valid") if record.valid else _("signature invalid")
        line = f"{_time(record.received_at)}  {record.receipt_id or record.gateway_message_id}  {kind}  {validity}"
        if record.problem:
            line += f"  ({record.problem})"
        click.echo(line)


@click.group("roster", short_help=N_("The staff roster (Appendix 1)."), help=N_("The staff roster (Appendix 1): employees who record violations."))
def roster_group() -> None:
    pass


@roster_group.command("submit", short_help=N_("Submit a staff roster."), help=N_("Build, sign, send and track a staff roster from an input file."))
@click.argument("input_file", metavar="INPUT", type=click.Path(exists=True, dir_okay=False))
@_key_option
@_password_env_option
@_password_file_option
@_resubmit_option
@click.pass_obj
def roster_submit_command(obj: Any, input_file: str, key: str | None, password_env: str | None, password_file: str | None, resubmit: bool) -> None:
    with _client(obj, key=key, password_env=password_env, password_file=password_file) as client:
        _finish(client.submit_roster(input_file, resubmit=resubmit))


@roster_group.command("due", short_help=N_("Tell whether a new roster is due."), help=N_("Tell whether a new staff roster is due (the rules require one at least every six months)."))
@click.pass_obj
def roster_due_command(obj: Any) -> None:
    with _client(obj) as client:
        due = client.roster_due()
    if due.last is None:
        click.echo(_("No staff roster has been sent yet: send one with 'edms-adapter roster submit'."))
    elif due.due:
        click.echo(
            translate(
                N_("A new staff roster is due: the last one, No. {number} of {date}, is {days} days old (the limit is {limit} days)."),
                number=due.last.number,
                date=due.last.document_date.isoformat(),
                days=due.age_days,
                limit=due.interval_days,
            )
        )
    else:
        click.echo(
            translate(
                N_("The last staff roster, No. {number} of {date}, is {days} days old; the next one is due by {due_date}."),
                number=due.last.number,
                date=due.last.document_date.isoformat(),
                days=due.age_days,
                due_date=due.due_date.isoformat() if due.due_date else "-",
            )
        )
    if due.due:
        raise click.exceptions.Exit(EXIT_FAILED)


@click.command("demo", short_help=N_("Run the whole exchange with a test PKI."), help=N_("Run the whole exchange on this machine with a test PKI: submit the sample notification, register and decide it, pull the receipts, print the timeline."))
@click.option("--data", "data_dir", type=click.Path(file_okay=False), default=None, help=N_("Folder for the test PKI and the databases (default: a temporary folder, removed afterwards)."))
@click.pass_obj
def demo_command(obj: Any, data_dir: str | None) -> None:
    from ..exchange.demo import run_demo

    result = run_demo(Path(data_dir) if data_dir else None, report=click.echo)
    click.echo("")
    for line in format_status(result.status):
        click.echo(line)
    click.echo(_("Timeline:"))
    for line in format_timeline(result.timeline):
        click.echo(f"  {line}")
    click.echo(_("Decisions:"))
    for line in format_decisions(result.decisions):
        click.echo(f"  {line}")
    if result.data_dir is not None:
        click.echo(translate(N_("The test PKI and the databases are in {path}."), path=str(result.data_dir)))


def register(group: click.Group) -> None:
    """Add this area's commands to ``group``."""
    for command in (
        submit_command,
        send_command,
        resend_command,
        status_command,
        watch_command,
        receipts_group,
        roster_group,
        demo_command,
    ):
        group.add_command(command)

"""Entry point of the ``edms-adapter`` command.

Exit codes: 0 success, 1 invalid input, document or failed operation, 2 usage
or configuration error. Domain errors print as one line in the user's
language; ``--verbose`` adds the traceback and DEBUG logging.
"""

from __future__ import annotations

import logging
import sys

import click

from .. import i18n
from ..config import Config, load_config
from ..errors import ConfigError, EdmsAdapterError
from ..i18n import N_, gettext as _
from . import clicktext
from .context import CliContext, pass_context

__all__ = ["CliContext", "cli", "main", "pass_context"]

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


@click.group(
    help=N_("Prepare, sign, send and receive notifications about prohibited content through the state EDMS."),
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--lang", "language", type=click.Choice(i18n.LANGUAGES), default=None, help=N_("Language of messages and help: kk, ru or en (default: configuration, then the locale). Forms are rendered in the document's own language unless render --lang chooses another."))
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, help=N_("Configuration file (default: $EDMS_ADAPTER_CONFIG, ./edms-adapter.toml, ~/.config/edms-adapter/config.toml)."))
@click.option("-v", "--verbose", is_flag=True, help=N_("Show DEBUG log lines and tracebacks."))
@click.version_option(package_name="edms-adapter", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, language: str | None, config_path: str | None, verbose: bool) -> None:
    config = load_config(config_path)
    chosen = language or i18n.normalize_language(config.general.language) or i18n.language_from_locale() or i18n.DEFAULT_LANGUAGE
    i18n.set_language(chosen)
    # A command's own output is its result; the log shows warnings and errors
    # only. 'serve' lowers this to INFO, one line per exchange.
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:
        # Third-party libraries log their own internals at INFO; keep the product's lines readable.
        for noisy in ("zeep", "urllib3", "fontTools", "weasyprint", "waitress.queue"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    ctx.obj = CliContext(config=config, language=chosen, verbose=verbose)


def _register_commands() -> None:
    from . import documents, exchange, receiver, render, signing

    for module in (documents, signing, exchange, receiver, render):
        module.register(cli)


_register_commands()


_GLOBAL_OPTIONS_WITH_VALUE = ("--lang", "--config")
_GLOBAL_FLAGS = ("-v", "--verbose")


def _hoist_global_options(argv: list[str]) -> list[str]:
    """Move global options written after the command to the front.

    ``edms-adapter demo --lang en`` then means ``edms-adapter --lang en demo``.
    An option the command defines itself (``render --lang`` sets the form's
    language) stays where it is.
    """
    command: click.Command = cli
    position = 0
    while position < len(argv) and isinstance(command, click.Group):
        arg = argv[position]
        if arg.startswith("-") and command is not cli:
            break
        if arg in _GLOBAL_OPTIONS_WITH_VALUE:
            position += 2
            continue
        if arg.startswith("-"):
            position += 1
            continue
        if arg not in command.commands:
            break
        command = command.commands[arg]
        position += 1
    if command is cli:
        return argv

    own_options = {opt for param in command.params for opt in getattr(param, "opts", ())}
    head, tail, rest = argv[:position], [], argv[position:]
    index = 0
    while index < len(rest):
        arg = rest[index]
        name = arg.split("=", 1)[0]
        if arg == "--":
            tail.extend(rest[index:])
            break
        if name in _GLOBAL_OPTIONS_WITH_VALUE and name not in own_options:
            if "=" in arg:
                head.insert(0, arg)
                index += 1
            else:
                head[0:0] = rest[index : index + 2]
                index += 2
            continue
        if arg in _GLOBAL_FLAGS and arg not in own_options:
            head.insert(0, arg)
            index += 1
            continue
        tail.append(arg)
        index += 1
    return head + tail


def _preselect_language(argv: list[str]) -> None:
    """Pick the language before click parses, so help and usage errors are translated too.

    The order is the one the ``cli`` callback applies: ``--lang``, then the
    configuration file's ``general.language``, then the locale.
    """
    language = None
    config_path = None
    for index, arg in enumerate(argv):
        value = argv[index + 1] if index + 1 < len(argv) else None
        if arg == "--lang":
            language = value
        elif arg.startswith("--lang="):
            language = arg.split("=", 1)[1]
        elif arg == "--config":
            config_path = value
        elif arg.startswith("--config="):
            config_path = arg.split("=", 1)[1]
    if not i18n.normalize_language(language):
        try:
            language = load_config(config_path).general.language
        except ConfigError:
            language = None  # reported properly once click has parsed the options
    if i18n.normalize_language(language):
        i18n.set_language(language)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (also the process exit code)."""
    args = _hoist_global_options(list(sys.argv[1:] if argv is None else argv))
    verbose = "-v" in args or "--verbose" in args
    _preselect_language(args)
    clicktext.install()
    clicktext.localize_command_tree(cli)
    try:
        # Without standalone mode click returns the code of a command's Exit instead of raising it.
        code = cli.main(args=args, prog_name="edms-adapter", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        click.echo(_("Aborted."), err=True)
        return EXIT_INVALID
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE if isinstance(exc, click.UsageError) else EXIT_INVALID
    except ConfigError as exc:
        if verbose:
            logging.getLogger(__name__).exception("configuration error")
        click.echo(_("Configuration error: {message}").format(message=exc), err=True)
        return EXIT_USAGE
    except EdmsAdapterError as exc:
        if verbose:
            logging.getLogger(__name__).exception("command failed")
        click.echo(_("Error: {message}").format(message=exc), err=True)
        return EXIT_INVALID
    except KeyboardInterrupt:
        click.echo(_("Aborted."), err=True)
        return 130
    return code if isinstance(code, int) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

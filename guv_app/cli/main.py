"""``multicellpose`` command line: one entry point, one module per subcommand.

Each module in ``guv_app.cli.commands`` exposes ``register(subparsers)`` which adds its parser
and sets ``func`` (called with the parsed args, returns an exit code). Errors a user can fix
are raised as :class:`CLIError` and printed as one line; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from guv_app import __version__
from guv_app.cli.startup import preload

COMMAND_MODULES = (
    "info", "models", "predict", "train", "evaluate", "make_crops", "measure", "track",
    "export", "import_", "promote",
)


class CLIError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """``--help`` names every option's default (unless its help already does); units are
    part of each help text (they come from the settings' one definition). Descriptions are
    printed as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("default" in text or action.default in (None, False, argparse.SUPPRESS)
                or not action.option_strings):
            return text
        return text + " (default: %(default)s)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="multicellpose",
        description="MultiCellPose without a window: inspect images, segment, fine-tune "
                    "Cellpose-SAM, evaluate and measure (the same services as the GUI).",
    )
    parser.add_argument("--version", action="version", version=f"multicellpose {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"guv_app.cli.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"guv_app.cli.commands.{name}":
                continue  # subcommand not built yet
            raise
        module.register(subparsers)
    for sub in subparsers.choices.values():
        sub.formatter_class = HelpFormatter
    return parser


def main(argv: Sequence[str] | None = None, *, freeze_imports: bool = False) -> int:
    """Run one command; returns its exit code. ``freeze_imports`` is for the console entry
    (:func:`run`) only: see :mod:`guv_app.cli.startup`."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        # inside the try: Ctrl-C during the ~3 s of torch imports is an interrupt like any
        # other (exit 130, one line), and an import that fails for a reason other than a
        # missing module (a broken torch install: OSError) is reported as one line
        preload(getattr(args, "preload", ()), freeze=freeze_imports)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("multicellpose: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI's one place that turns errors into a line
        if args.debug:
            raise
        print(f"multicellpose {args.command}: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, CLIError) else 1


def run() -> None:
    """The ``multicellpose`` console command: :func:`main` in its own process."""
    sys.exit(main(freeze_imports=True))


if __name__ == "__main__":
    # run the imported module, not this __main__ copy: the commands raise
    # guv_app.cli.main.CLIError, which must be the class main() checks (exit code 2)
    from guv_app.cli.main import run as _run

    _run()

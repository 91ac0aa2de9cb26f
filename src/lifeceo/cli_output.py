"""What the `lifeceo` listing commands print: tables for people, whole values when piped, and
JSON with stable keys for scripts (`--json`)."""

import sys
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

# Piped or redirected, rich assumes 80 columns and cuts table cells to fit with "…" (`lifeceo
# flags list | grep virtual` showed "virtual…"). Tables are not stretched to the console, so a
# width no listing reaches leaves every value whole and adds no padding.
PIPED_WIDTH = 10_000

JsonOption = Annotated[bool, typer.Option(
    "--json", help="Print JSON with stable keys instead of a table (for scripts).")]


def stdout_console() -> Console:
    """The console fitted to the terminal, or wide enough for any value when stdout is not one."""
    return Console() if sys.stdout.isatty() else Console(width=PIPED_WIDTH)


def print_json(value: Any) -> None:
    """`value` as indented JSON on stdout: no markup, highlighting or wrapping."""
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")

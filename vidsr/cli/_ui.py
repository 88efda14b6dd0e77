"""Rendering for the CLI: progress bars, tables, one-line errors and JSON, honouring
--quiet and --json. Results go to stdout; progress and errors go to stderr."""

from __future__ import annotations

import json as jsonlib
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

# What to do about an error, by the option its library error names (`VidsrError.option`): the
# library speaks of parameters, the command line of its flags.
HINTS = {
    "overwrite": "use --overwrite to replace it",
    "codec": "choose another --codec",
    "resume": "leave out --resume",
    "device": "use --device cpu",
    "strict": "without --strict they are skipped and counted",
}


class UI:
    def __init__(self, *, quiet: bool = False, json: bool = False) -> None:
        self.quiet = quiet
        self.json = json
        self.out = Console(soft_wrap=True)
        self.err = Console(stderr=True, soft_wrap=True)

    def error(self, message: str, option: str | None = None) -> None:
        # One line, whatever the mode: scripts read the exit code, people read this.
        line = message.splitlines()[0] if message else ""
        hint = HINTS.get(option or "")
        self.err.print(f"[bold red]error:[/] {escape(f'{line} ({hint})' if hint else line)}")

    def warn(self, message: str) -> None:
        if not self.quiet:
            self.err.print(f"[yellow]warning:[/] {escape(message)}")

    def info(self, message: str) -> None:
        if not (self.quiet or self.json):
            self.err.print(message)

    def result(self, line: str, data: dict[str, Any]) -> None:
        """The final result: one JSON object with --json, else one human line (unless --quiet)."""
        if self.json:
            print(jsonlib.dumps(data, default=str), flush=True)
        elif not self.quiet:
            self.out.print(line)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if self.quiet or self.json:
            return
        table = Table(title=title)
        for i, column in enumerate(columns):
            table.add_column(column, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row))
        self.out.print(table)

    @contextmanager
    def progress(
        self, description: str, total: int | None, unit: str = "frames"
    ) -> Iterator[Progress]:
        """A rich progress bar with count, rate and ETA; invisible under --quiet or --json.

        Yields the Progress with one task (id 0): `bar.update(0, completed=n, …)`.
        """
        columns = [
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[extra]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        ]
        disable = self.quiet or self.json or not sys.stderr.isatty()
        with Progress(*columns, console=self.err, disable=disable) as bar:
            bar.add_task(description, total=total, rate=f"0 {unit}/s", extra="")
            yield bar


class LogToUI(logging.Handler):
    """Library warnings as one `warning:` line each on stderr (none under --quiet). Without a
    handler, Python's last-resort handler would print them raw."""

    def __init__(self, ui: UI) -> None:
        super().__init__(logging.WARNING)
        self.ui = ui

    def emit(self, record: logging.LogRecord) -> None:
        self.ui.warn(record.getMessage())

"""`--watch`: the same report, read again every N seconds.

On a terminal a rich Live view redraws it in place; elsewhere (a pipe, a file) each reading is
printed after the last, separated by a blank line. Ctrl-C ends the watch cleanly (exit 0): the
producer opens and closes its sessions on every reading, so none is left open.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from typing import IO

from perftool.report.model import Report
from perftool.report.render import color_wanted, render

Produce = Callable[[], Report]


def watch(produce: Produce, seconds: float, out: IO[str] | None = None, *, no_color: bool = False,
          readings: int | None = None) -> int:
    """Show `produce()` every `seconds` until Ctrl-C (or `readings` readings); returns the count."""
    out = out or sys.stdout
    done = 0
    try:
        if color_wanted(out, no_color):
            from rich.console import Console
            from rich.live import Live
            from rich.text import Text

            console = Console(file=out)
            with Live(console=console, auto_refresh=False, screen=False) as live:
                while readings is None or done < readings:
                    buf = io.StringIO()
                    from perftool.report.table_format import render as table

                    table(produce(), buf, color=True, width=console.width)
                    # the hint first: a report taller than the terminal is cut at the bottom
                    head = f"{time.strftime('%H:%M:%S')} · every {seconds:g} s · Ctrl-C to stop\n"
                    live.update(Text.from_ansi(head + buf.getvalue()), refresh=True)
                    done += 1
                    if readings is None or done < readings:
                        time.sleep(seconds)
        else:
            while readings is None or done < readings:
                if done:
                    out.write("\n")
                render(produce(), "table", out, no_color=True)
                out.flush()
                done += 1
                if readings is None or done < readings:
                    time.sleep(seconds)
    except KeyboardInterrupt:
        pass
    return done

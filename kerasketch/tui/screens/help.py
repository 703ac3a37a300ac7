"""The help screen: every key, by screen, and what the dashboard does with runs."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    (
        "Everywhere",
        (
            ("?  F1", "this help"),
            ("q  ctrl+q", "quit (asks first when runs are going)"),
            ("escape", "back / close"),
            ("tab  shift+tab", "next / previous panel or field"),
        ),
    ),
    (
        "Dashboard",
        (
            ("l  enter (recipe)", "launch the highlighted recipe: a form, then a child process"),
            ("enter (run)", "open the run: progress, curves, epochs, evaluation, config, log"),
            ("x", "stop the highlighted run (SIGTERM: it records 'cancelled'; again: kill)"),
            ("c", "confusion matrix of the highlighted run"),
            ("p", "sketch pad: draw, and the highlighted run's model says what it sees"),
            ("space  v", "mark / unmark a run (then down); compare the marked runs (2 to 10)"),
            ("e", "write the highlighted run's report (kerasketch report, into reports/)"),
            ("s  click header", "sort runs by best val_acc / newest first"),
            ("d", "show the recipes' best runs on the next data (runs compare only on the same data)"),
            ("r", "read the runs folder again (it is also watched every few seconds)"),
            ("t  n", "tag the highlighted run (words, spaces between) / write its note"),
            ("a", "archive the run into runs/.archive/ (hidden, not deleted); on an archived run: bring it back"),
            ("delete", "delete the run's folder for good, after a confirmation (y); never a running run"),
            ("f", "list only the runs with a tag (an empty line: every run)"),
            ("A", "list the archived runs too / hide them again"),
            ("1  2", "recipes / runs"),
        ),
    ),
    (
        "Run",
        (
            ("x", "stop this run"),
            ("c", "confusion matrix"),
            ("p", "sketch pad with this run's model"),
            ("z", "zoom the curves: all epochs, last 20, last 10 (kept while epochs arrive)"),
            ("up  down", "select an epoch: its values show on the curves (┊)"),
            ("1 2 3 4 5", "tabs: training, evaluation, config, log, batch loss"),
            ("[  ]", "batch loss: smooth less / more (EMA factor)"),
            ("e", "write this run's report"),
        ),
    ),
    (
        "Compare",
        (
            ("t", "training curves too (dashed), beside the validation curves"),
            ("s  click header", "sort the table by the next column / by that column (again: reverse)"),
            ("enter", "open the highlighted run"),
            ("e", "one report of the compared runs, their validation curves overlaid"),
        ),
    ),
    (
        "Launch form",
        (
            ("tab", "next field; errors show beside the field"),
            ("enter  ctrl+s", "start the run"),
            ("escape  q", "cancel (q only outside a text field)"),
        ),
    ),
    (
        "Sketch pad",
        (
            ("mouse", "press, drag, release: one stroke; the top 5 classes follow each stroke"),
            ("u  c", "undo the last stroke / clear the paper"),
            ("s", "save the drawing as a simplified ndjson line (asks for its word and the file)"),
            ("r", "start the model's child process again after it stopped"),
        ),
    ),
    ("Quit question", (("s  l  escape", "stop the runs and quit / leave them running and quit / stay"),)),
    ("Delete question", (("y  n  escape", "delete the run folder for good / keep it"),)),
    (
        "Confusion matrix",
        (
            ("arrows  pgup pgdn", "move the cursor; the cell is spelt out below the map"),
            ("home  end  d", "first / last class, the diagonal"),
            ("s  click header", "sort classes by accuracy, size, name"),
        ),
    ),
)

ABOUT = (
    "Each run is a child process: python -m kerasketch.recipes.NAME --events - ... "
    "Its JSON-lines events drive this dashboard; its run folder (runs/NAME-TIME/) is complete "
    "whatever happens here. Statuses are written out: running, finished, early stop, cancelled, "
    "FAILED, killed, interrupted (the process died without an end), unreadable (a malformed folder). "
    "★ marks the best epoch in tables and ▲ on the curves' axis."
)


def help_table() -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold cyan", no_wrap=True)
    t.add_column()
    for section, keys in KEYS:
        t.add_row(Text(section, style="bold underline"), "")
        for key, what in keys:
            t.add_row(key, what)
        t.add_row("", "")
    t.add_row(Text("About", style="bold underline"), "")
    t.add_row("", ABOUT)
    return t


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "kerasketch dashboard: keys"
            box.border_subtitle = "escape: close"
            yield Static(help_table())

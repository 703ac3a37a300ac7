"""Quitting with runs still going: stop them, leave them running, or stay."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class QuitScreen(ModalScreen[str]):
    """Dismissed with ``stop``, ``leave`` or ``cancel``."""

    BINDINGS = [
        Binding("escape", "choose('cancel')", "Stay"),
        Binding("s", "choose('stop')", "Stop them and quit"),
        Binding("l", "choose('leave')", "Leave them running"),
    ]

    def __init__(self, names: list[str]):
        super().__init__()
        self.names = names

    def compose(self) -> ComposeResult:
        with Vertical(id="quit-box") as box:
            box.border_title = "Quit?"
            n = len(self.names)
            listed = "\n".join(f"  • {name}" for name in self.names[:6]) + ("\n  …" if n > 6 else "")
            yield Static(
                f"{n} run{'s are' if n != 1 else ' is'} still going:\n{listed}\n\n"
                "Stop: each gets SIGTERM and records 'cancelled' (the same command resumes it).\n"
                "Leave: they keep training on their own; their folders will be complete.",
                id="quit-text",
            )
            with Horizontal(id="quit-buttons"):
                yield Button("Stop them and quit (s)", id="stop", variant="error")
                yield Button("Leave them running (l)", id="leave", variant="warning")
                yield Button("Stay (esc)", id="cancel", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "cancel")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

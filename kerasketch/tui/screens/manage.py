"""Managing runs from the dashboard: one line of text to ask for (tags, a note, a tag to
filter by), and the question before a run folder is deleted for good.

These screens only ask; the app writes the answer with
:mod:`kerasketch.training.runs_admin`, as ``kerasketch runs ...`` does.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ..widgets.form_input import FormInput


class AskLineScreen(ModalScreen[str | None]):
    """One line of text, given back as typed (enter), or None (escape)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, about: str, value: str = "", placeholder: str = ""):
        super().__init__()
        self.title_text = title
        self.about = about
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="ask-box") as box:
            box.border_title = self.title_text
            box.border_subtitle = "enter: save · escape: cancel"
            yield Static(self.about, id="ask-about", markup=False)
            yield FormInput(
                self.value, placeholder=self.placeholder, compact=True, select_on_focus=False, id="ask-line"
            )

    def on_mount(self) -> None:
        self.query_one("#ask-line", FormInput).focus()

    def on_input_submitted(self, event: FormInput.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class DeleteScreen(ModalScreen[bool]):
    """Dismissed with True only when the user says delete (``y`` or the button); keeping is the default."""

    BINDINGS = [
        Binding("escape,n", "choose(False)", "Keep it"),
        Binding("y", "choose(True)", "Delete for good"),
    ]

    def __init__(self, name: str, folder: str, what: str):
        super().__init__()
        self.run_name = name
        self.folder = folder
        self.what = what  # the run in a few words: its status and scores

    def compose(self) -> ComposeResult:
        with Vertical(id="delete-box") as box:
            box.border_title = "Delete this run?"
            yield Static(
                f"{self.run_name}\n  {self.what}\n\n"
                f"Its folder {self.folder}/ goes for good: events, checkpoints, evaluation, everything in it.\n"
                "Archiving it instead (a) only hides it, and can be undone.",
                id="delete-text",
                markup=False,
            )
            with Horizontal(id="delete-buttons"):
                yield Button("Delete for good (y)", id="delete", variant="error")
                yield Button("Keep it (esc)", id="keep", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "delete")

    def action_choose(self, delete: bool) -> None:
        self.dismiss(delete)

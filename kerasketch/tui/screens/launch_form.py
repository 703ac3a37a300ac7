"""The launch form: pick a recipe, adjust its options (those of the run command), start.

Each field is checked as it is typed (:func:`kerasketch.tui.launch.check_field`)
and its error shows beside it; the command the dashboard will run is shown
below the fields, so nothing about the child is hidden.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from kerasketch.recipes import registry
from kerasketch.recipes.base import Recipe

from ..launch import FIELDS, SWITCHES, LaunchRequest, check_field, check_form, check_split, defaults
from ..widgets.form_input import FormCheckbox, FormInput


def describe(recipe: Recipe) -> Text:
    o = recipe.original
    text = Text()
    if o is None:
        text.append(f"#{registry.number(recipe)} {recipe.name} (ours)", style="bold")
        text.append(
            f": {recipe.model}, loss {registry.loss_label(recipe)}, {registry.optimizer_label(recipe)}; "
            "not in the log, so no original result"
        )
        return text
    text.append(f"#{o.number} {o.title}", style="bold")
    text.append(
        f": {recipe.model}, loss {o.loss}, {o.optimizer}; the original reached val_acc {o.val_acc:.4f} at epoch {o.best_epoch}"
    )
    return text


class LaunchScreen(ModalScreen[LaunchRequest | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "start", "Start", priority=True),
        # Outside a text field, q leaves the form rather than the whole dashboard.
        Binding("q", "cancel", "Cancel", show=False),
    ]

    def __init__(self, recipe: str, data: str | None, runs_dir: Path):
        super().__init__()
        self.recipe = registry.get(recipe)
        self.data = data
        self.runs_dir = runs_dir

    def compose(self) -> ComposeResult:
        values = defaults(self.recipe, self.data)
        with Vertical(id="launch-box") as box:
            box.border_title = "Launch a run"
            box.border_subtitle = "enter/ctrl+s: start · esc: cancel"
            yield Static(describe(self.recipe), id="launch-about")
            with VerticalScroll(id="launch-fields"):
                with Horizontal(classes="field"):
                    yield Label("Recipe", classes="field-label")
                    yield Select(
                        [(n, n) for n in registry.NAMES],
                        value=self.recipe.name,
                        allow_blank=False,
                        compact=True,
                        id="recipe",
                    )
                for name, label, hint in FIELDS:
                    with Horizontal(classes="field", id=f"row-{name}"):
                        yield Label(label, classes="field-label")
                        yield FormInput(
                            values[name], placeholder=hint, compact=True, id=f"f-{name}", select_on_focus=False
                        )
                        yield Static("", classes="field-error", id=f"e-{name}")
                for name, label, what in SWITCHES:
                    with Horizontal(classes="field"):
                        yield Label(label, classes="field-label")
                        yield FormCheckbox(what, compact=True, id=name)
            yield Static(id="command")
            with Horizontal(id="launch-buttons"):
                yield Button("Start", id="start", variant="success", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self._weights_state()
        self._update_command()
        # The first field, where the eye starts: the typing lands where it is seen.
        self.query_one("#recipe", Select).focus()

    # -- the form ------------------------------------------------------------

    def texts(self) -> dict[str, str]:
        return {name: self.query_one(f"#f-{name}", Input).value for name, _, _ in FIELDS}

    def switches(self) -> dict[str, bool]:
        return {name: self.query_one(f"#{name}", Checkbox).value for name, _, _ in SWITCHES}

    def _weights_state(self) -> None:
        weights = self.query_one("#f-weights", Input)
        weights.disabled = self.recipe.weights is None
        weights.placeholder = (
            "imagenet, none, or a state-dict file" if self.recipe.weights else "not used: trains from scratch"
        )

    def _show_error(self, name: str, error: str | None) -> None:
        self.query_one(f"#e-{name}", Static).update(Text(error or "", style="bold red"))
        self.query_one(f"#f-{name}", Input).set_class(bool(error), "-invalid")

    def _update_command(self) -> None:
        request, _ = check_form(self.recipe, self.texts(), **self.switches())
        command = self.query_one("#command", Static)
        if request is None:
            command.update(Text("fix the fields marked in red to start", style="bold red"))
        else:
            argv = request.argv(self.runs_dir, "python")
            command.update(Text("$ " + shlex.join(argv), style="dim"))

    @on(Input.Changed)
    def _field_changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "")[2:]
        loss = self.query_one("#f-loss", Input).value.strip() or None
        _, error = check_field(name, event.value, self.recipe, loss)
        if name == "loss":  # the options that depend on the loss are checked again
            for other in ("logit_adjust", "focal_alpha", "focal_gamma"):
                self._show_error(
                    other, check_field(other, self.query_one(f"#f-{other}", Input).value, self.recipe, loss)[1]
                )
        # The two ways to cap the data exclude each other.
        if name in ("fraction", "max_per_class"):
            other = "max_per_class" if name == "fraction" else "fraction"
            both = bool(event.value.strip()) and bool(self.query_one(f"#f-{other}", Input).value.strip())
            error = error or ("fraction or max per class, not both" if both else None)
            _, other_error = check_field(other, self.query_one(f"#f-{other}", Input).value, self.recipe)
            self._show_error(other, other_error or ("fraction or max per class, not both" if both else None))
        if name in ("batch_size", "nproc"):  # the global batch is shared out over the processes
            self._show_split()
        if name != "nproc":  # its error, the split's included, is shown by _show_split
            self._show_error(name, error)
        self._update_command()

    def _show_split(self) -> None:
        """The Processes field's error: its own check, else whether the batch splits over the processes."""
        nproc, error = check_field("nproc", self.query_one("#f-nproc", Input).value, self.recipe)
        if error is None:
            batch, batch_error = check_field("batch_size", self.query_one("#f-batch_size", Input).value, self.recipe)
            error = None if batch_error else check_split(self.recipe, batch, nproc)
        self._show_error("nproc", error)

    @on(Select.Changed, "#recipe")
    def _recipe_changed(self, event: Select.Changed) -> None:
        if event.value == self.recipe.name or event.value is Select.BLANK:
            return
        old, self.recipe = defaults(self.recipe), registry.get(str(event.value))
        new = defaults(self.recipe)
        # Fields still at the old recipe's default take the new one's; edits are kept.
        for name, _, _ in FIELDS:
            field = self.query_one(f"#f-{name}", Input)
            if field.value == old[name] and name != "data":
                field.value = new[name]
        self.query_one("#launch-about", Static).update(describe(self.recipe))
        self._weights_state()
        self._update_command()

    @on(Checkbox.Changed)
    def _fresh_changed(self) -> None:
        self._update_command()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()
        else:
            self.action_cancel()

    def action_start(self) -> None:
        request, errors = check_form(self.recipe, self.texts(), **self.switches())
        for name, _, _ in FIELDS:
            self._show_error(name, errors.get(name))
        if request is None:
            first = next(name for name, _, _ in FIELDS if name in errors)
            self.query_one(f"#f-{first}", Input).focus()
            n = len(errors)
            self.query_one("#command", Static).update(
                Text(f"{n} field{'s' if n > 1 else ''} to fix before starting (in red)", style="bold red")
            )
            return
        self.dismiss(request)

    def action_cancel(self) -> None:
        self.dismiss(None)

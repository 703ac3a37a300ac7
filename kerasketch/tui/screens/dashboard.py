"""The first screen: the nine recipes above, every run below.

In a wide terminal a preview of the highlighted run (its progress and
accuracy curves) sits beside the runs.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kerasketch.recipes.base import Recipe
from kerasketch.training.datakey import DataKey

from ..messages import (
    ArchiveRun,
    DeleteRun,
    FilterRuns,
    NoteRun,
    OpenCompare,
    OpenConfusion,
    OpenLaunch,
    OpenPad,
    OpenRun,
    Rescan,
    ShowArchived,
    SortRuns,
    StopRun,
    TagRun,
    WriteReport,
)
from ..present import accuracy_series, empty_chart, loss_series, problems_text, split_hint
from ..store import RunStore
from ..widgets.line_chart import LineChart
from ..widgets.recipe_table import RecipeTable
from ..widgets.run_progress import RunProgress
from ..widgets.runs_table import RunsTable, annotations_text

#: The keys of ``kerasketch runs tag | note | archive | delete``, together in the footer.
MANAGE = Binding.Group("Manage run", compact=True)


class DashboardScreen(Screen):
    BINDINGS = [
        Binding("l", "launch", "Launch"),
        Binding("x", "stop", "Stop run"),
        Binding("c", "confusion", "Confusion"),
        Binding("p", "pad", "Sketch pad"),
        Binding("s", "sort", "Sort"),
        Binding("d", "next_data", "Data", show=False),
        Binding("v", "compare", "Compare"),
        Binding("e", "report", "Report"),
        Binding("r", "rescan", "Rescan", show=False),
        # One footer entry ("t n a del Manage run"); ? spells each out.
        Binding("t", "tag", "Tag", group=MANAGE),
        Binding("n", "note", "Note", group=MANAGE),
        Binding("a", "archive", "Archive / bring back", group=MANAGE),
        Binding("delete", "delete", "Delete (asks first)", group=MANAGE),
        Binding("f", "filter", "Filter by tag", show=False),
        Binding("A", "show_archived", "Archived: show / hide", show=False),
        Binding("1", "focus_panel('recipes')", "Recipes", show=False),
        Binding("2", "focus_panel('runs')", "Runs", show=False),
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide"), (200, "-xwide")]

    def __init__(self, store: RunStore, recipes: list[Recipe], runs_dir: Path):
        super().__init__()
        self.store = store
        self.recipes = recipes
        self.runs_dir = runs_dir

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="recipes-panel"):
            yield RecipeTable(self.recipes, id="recipes")
        with Horizontal(id="runs-row"):
            with Vertical(id="runs-panel"):
                yield RunsTable(id="runs")
            with Vertical(id="preview"):
                yield RunProgress(id="preview-progress")
                yield Static(id="preview-about")
                yield LineChart("loss", id="preview-loss")
                yield LineChart("accuracy", bounds=(0.0, 1.0), id="preview-accuracy")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#recipes-panel").border_title = "Recipes  (l or enter: launch)"
        self.query_one("#preview").border_title = "Selected run"
        self.query_one("#preview-progress", RunProgress).update("no run selected: the runs folder is empty")
        self.runs_changed(None)
        self.query_one(RecipeTable).focus()

    # -- updates from the app -----------------------------------------------

    def runs_changed(self, keys: set[str] | None) -> None:
        """Some runs changed (``keys``), or the list itself (None)."""
        store = self.store
        table = self.query_one(RunsTable)
        if keys is None:
            table.show(store.sorted())
            table.set_sort_label(store.sort_by)
            data, best = store.best_by_recipe()
            self.query_one(RecipeTable).show_results(best, store.counts_by_recipe())
            self._title_recipes(data)
            self._title_runs()
        else:
            for key in keys:
                state = store.get(key)
                if state is not None:
                    table.update_run(state)
        selected = table.selected_key
        if selected and (keys is None or selected in keys):
            self._preview(selected)

    def on_screen_resume(self) -> None:
        # Only the screen in front is told about changes; catch up when back in front.
        self.runs_changed(None)

    def _title_recipes(self, data: DataKey | None) -> None:
        """Which data "our best" is on: scores compare only between runs on the same data."""
        panel = self.query_one("#recipes-panel")
        if data is None:
            panel.border_subtitle = ""
            return
        count = self.store.data_count()
        other = f" · d: other data ({count})" if count > 1 else ""
        panel.border_subtitle = f"our best on {escape(str(data))}{other}"  # the key's [..] is not markup

    def _title_runs(self) -> None:
        store = self.store
        active = len(store.active())
        by = "best val_acc" if store.sort_by == "best" else "newest"
        only = f"; tag {store.tag}" if store.tag is not None else ""
        archived = "; archived too" if store.show_archived else ""
        title = f"Runs in {self.runs_dir}/  ({len(store.listed())}, {active} going; sorted by {by}{only}{archived})"
        self.query_one("#runs-panel").border_title = title
        marked = len(self.query_one(RunsTable).marked)
        self.query_one(
            "#runs-panel"
        ).border_subtitle = f"space: mark & next ({marked}) · v: compare · enter: open · s: sort · e: report"

    def on_runs_table_marks_changed(self, event: RunsTable.MarksChanged) -> None:
        self._title_runs()

    def _preview(self, key: str) -> None:
        state = self.store.get(key)
        if state is None or not self.query_one("#preview").display:
            return
        self.query_one("#preview-progress", RunProgress).show(state)
        about = Text(no_wrap=True, overflow="ellipsis")
        about.append(f"backend {state.backend or '?'} · ")
        about.append(state.name, style="bold")
        if state.archived or state.tags or state.note:
            about.append("\n").append_text(annotations_text(state))
        if state.problems:
            about.append("\n").append_text(problems_text(state))
        elif state.error and not state.active:
            about.append("\n" + split_hint(state.error)[0], style="red")
        self.query_one("#preview-about", Static).update(about)
        empty = empty_chart(state)
        self.query_one("#preview-loss", LineChart).set_data(loss_series(state), state.best_epoch, empty=empty)
        self.query_one("#preview-accuracy", LineChart).set_data(accuracy_series(state), state.best_epoch, empty=empty)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if isinstance(event.data_table, RunsTable) and event.row_key.value:
            self._preview(event.row_key.value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if isinstance(event.data_table, RecipeTable):
            self.post_message(OpenLaunch(event.row_key.value))
        elif isinstance(event.data_table, RunsTable) and event.row_key.value:
            self.post_message(OpenRun(event.row_key.value))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        if isinstance(event.data_table, RunsTable) and event.column_key.value in ("best", "started"):
            self.post_message(SortRuns(event.column_key.value))

    # -- actions ---------------------------------------------------------------

    def _selected_run(self) -> str | None:
        key = self.query_one(RunsTable).selected_key
        if key is None:
            self.notify("no run selected (the runs table is empty)", severity="warning")
        return key

    def action_launch(self) -> None:
        self.post_message(OpenLaunch(self.query_one(RecipeTable).selected_recipe))

    def action_stop(self) -> None:
        if key := self._selected_run():
            self.post_message(StopRun(key))

    def action_confusion(self) -> None:
        if key := self._selected_run():
            self.post_message(OpenConfusion(key))

    def action_pad(self) -> None:
        if key := self._selected_run():
            self.post_message(OpenPad(key))

    def action_sort(self) -> None:
        self.post_message(SortRuns("started" if self.store.sort_by == "best" else "best"))

    def action_next_data(self) -> None:
        if self.store.next_data() is None:
            self.notify("no finished run yet: the recipes' best runs appear once runs end", severity="warning")
            return
        self.runs_changed(None)

    def action_compare(self) -> None:
        self.post_message(OpenCompare(list(self.query_one(RunsTable).marked)))

    def action_report(self) -> None:
        if key := self._selected_run():
            self.post_message(WriteReport([key]))

    def action_rescan(self) -> None:
        self.post_message(Rescan())

    def action_tag(self) -> None:
        if key := self._selected_run():
            self.post_message(TagRun(key))

    def action_note(self) -> None:
        if key := self._selected_run():
            self.post_message(NoteRun(key))

    def action_archive(self) -> None:
        if key := self._selected_run():
            self.post_message(ArchiveRun(key))

    def action_delete(self) -> None:
        if key := self._selected_run():
            self.post_message(DeleteRun(key))

    def action_filter(self) -> None:
        self.post_message(FilterRuns())

    def action_show_archived(self) -> None:
        self.post_message(ShowArchived(not self.store.show_archived))

    def action_focus_panel(self, which: str) -> None:
        self.query_one(f"#{which}").focus()

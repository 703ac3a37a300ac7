"""The history and recipe tables: each run's best val_accuracy and val_loss beside its last."""

from __future__ import annotations

from textual.content import Content

from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.widgets.recipe_table import RecipeTable
from kerasketch.tui.widgets.runs_table import COLUMNS, RunsTable


def test_history_shows_best_and_last_of_accuracy_and_loss(runs_dir, helpers, compare_runs):
    """A run that over-fitted: best val_acc above its last, lowest val_loss below its last."""
    compare_runs.write_run(
        runs_dir, 0, recipe="like_vgg_adamw", seed=0, max_per_class=150, top=0.6318, epochs=20, best=5
    )
    rows = helpers.curves(20, best=5, top=0.6318, seed=0)

    async def scenario():
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0)
        async with app.run_test(size=(160, 30)) as pilot:
            await pilot.pause()
            table = app.screen.query_one(RunsTable)
            row = dict(zip([key for _, key, _ in COLUMNS], table.get_row_at(0)))
            assert row["best"] == "0.6318" and row["last"] == f"{rows[-1]['val_accuracy']:.4f}"
            assert float(row["last"]) < float(row["best"])
            losses = [r["val_loss"] for r in rows]
            assert row["min_loss"] == f"{min(losses):.4f}" and row["last_loss"] == f"{losses[-1]:.4f}"
            assert float(row["min_loss"]) < float(row["last_loss"])

            recipes = app.screen.query_one(RecipeTable)
            cells = {c.key.value: recipes.get_cell("like_vgg_adamw", c.key) for c in recipes.columns.values()}
            assert str(cells["ours"]) == "0.6318" and cells["last"] == row["last"]
            assert cells["min_loss"] == row["min_loss"] and cells["last_loss"] == row["last_loss"]
            assert recipes.get_cell("baseline", "last") == "-"  # no run of it

    helpers.run_async(scenario())


def test_our_best_is_picked_on_one_data_which_the_panel_names_and_d_changes(runs_dir, helpers):
    from run_folders import classes, write_run

    from kerasketch.runs import folders
    from kerasketch.training import datakey

    real = write_run(runs_dir, "real-37", classes=classes(37), best=0.61, day=1)
    write_run(runs_dir, "cat-only", classes={"cat": 25}, source="/d/simplified/cat.ndjson", best=1.0, day=3)
    small = write_run(runs_dir, "small-3", classes=classes(3), max_per_class=100, best=0.9, day=2)
    write_run(runs_dir, "syn", classes=classes(10), synthetic=True, source="synthetic shapes", best=0.99, day=4)
    keys = [datakey.of_config(folders.read_config(p)) for p in (real, small)]

    async def scenario():
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0)
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.pause()
            recipes = app.screen.query_one(RecipeTable)
            panel = app.screen.query_one("#recipes-panel")

            def shown() -> tuple[str, str]:
                # As the border shows it: a key in brackets is text, not markup (abc12345 was swallowed).
                subtitle = Content.from_markup(str(panel.border_subtitle)).plain
                return str(recipes.get_cell("like_vgg_adamw", "ours")), subtitle

            # The newest real data first (the one-class run is never a best, synthetic comes after real).
            ours, subtitle = shown()
            assert ours == "0.9000" and f"[{keys[1].key}]" in subtitle and "d: other data (3)" in subtitle
            await pilot.press("d")
            ours, subtitle = shown()
            assert ours == "0.6100" and f"[{keys[0].key}]" in subtitle and "37 classes" in subtitle
            await pilot.press("d")
            ours, subtitle = shown()
            assert ours == "0.9900 syn" and "SYNTHETIC" in subtitle
            await pilot.press("d")
            assert shown()[0] == "0.9000"  # round to the first again

    helpers.run_async(scenario())

"""The run screen's config tab names the focal loss a real run trained with, and its alpha and gamma (issue 36)."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Static

from kerasketch.cli.run import main
from kerasketch.recipes import registry
from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.screens.run_detail import RunScreen


def test_the_config_tab_shows_the_focal_form_a_run_trained_with(tmp_path, helpers):
    runs = tmp_path / "runs"
    argv = ["--data", "synthetic", "--classes", "3", "--max-per-class", "12", "--epochs", "1", "--quiet"]
    given = ["--loss", "softmax_focal", "--focal-alpha", "balanced", "--focal-gamma", "1"]
    assert main(registry.get("baseline"), [*argv, *given, "--runs-dir", str(runs)]) == 0
    (run,) = runs.iterdir()

    async def scenario() -> None:
        app = KerasketchApp(runs_dir=runs, watch_interval=0)
        async with app.run_test(size=(140, 40)) as pilot:
            app.open_run(str(run))
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, RunScreen), 30, "the run screen")
            await pilot.press("3")

            def config() -> str:
                # The tab shows a Rich table: printed as plain text, as a terminal would show it.
                console = Console(width=200, file=io.StringIO(), record=True)
                console.print(app.screen.query_one("#config-text", Static).content)
                return console.export_text()

            await helpers.wait_for(pilot, lambda: "imbalance remedy" in config(), 30, "the config tab")
            assert "softmax focal loss (Keras'), alpha balanced, gamma 1" in config()
            assert "softmax_focal" in config()  # recipe.loss: the loss it trained with

    helpers.run_async(scenario())

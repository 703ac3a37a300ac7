"""The run screen's config tab names the weight average and the batch mixing a real run trained with (issue 36)."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Static

from kerasketch.cli.run import main
from kerasketch.recipes import registry
from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.screens.run_detail import RunScreen


def test_the_config_tab_shows_the_average_and_the_mixing_a_run_trained_with(tmp_path, helpers):
    runs = tmp_path / "runs"
    argv = ["--data", "synthetic", "--classes", "3", "--max-per-class", "12", "--epochs", "1", "--quiet"]
    given = ["--ema", "--ema-momentum", "0.95", "--cutmix", "1", "--mix-prob", "0.5"]
    assert main(registry.get("baseline"), [*argv, *given, "--runs-dir", str(runs)]) == 0
    (run,) = runs.iterdir()

    async def scenario() -> None:
        app = KerasketchApp(runs_dir=runs, watch_interval=0)
        async with app.run_test(size=(140, 40)) as pilot:
            app.open_run(str(run))
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, RunScreen), 30, "the run screen")
            await pilot.press("3")

            def config() -> str:
                console = Console(width=200, file=io.StringIO(), record=True)
                console.print(app.screen.query_one("#config-text", Static).content)
                return console.export_text()

            await helpers.wait_for(pilot, lambda: "averaging, mixing" in config(), 30, "the config tab")
            assert "EMA of the weights, momentum 0.95; CutMix alpha 1 on 0.5 of the batches" in config()

    helpers.run_async(scenario())

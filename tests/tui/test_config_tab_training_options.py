"""The run screen's config tab names the training options a real run trained with (issue 36): the focal
loss with its alpha and gamma, the weight average, the recomputed BatchNorm statistics and the batch mixing;
the evaluation tab shows what recomputing the statistics did."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual.widgets import Static

from kerasketch.cli.run import main
from kerasketch.recipes import registry
from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.screens.run_detail import RunScreen

SMALL = ["--data", "synthetic", "--classes", "3", "--max-per-class", "12", "--epochs", "1", "--quiet"]


@pytest.mark.parametrize(
    ("recipe", "given", "tab", "row", "shown"),
    [
        (
            "baseline",
            ["--loss", "softmax_focal", "--focal-alpha", "balanced", "--focal-gamma", "1"],
            "config",
            "imbalance remedy",
            # The remedy in words, and recipe.loss: the loss it trained with.
            ["softmax focal loss (Keras'), alpha balanced, gamma 1", "softmax_focal"],
        ),
        (
            "baseline",
            ["--ema", "--ema-momentum", "0.95", "--precise-bn", "--cutmix", "1", "--mix-prob", "0.5"],
            "config",
            "averaging, mixing",
            [
                "EMA of the weights, momentum 0.95; BatchNorm statistics recomputed after training; "
                "CutMix alpha 1 on 0.5 of the batches"
            ],
        ),
        (
            "like_vgg_adamw",
            ["--ema", "--precise-bn"],
            "evaluation",
            "precise BN",
            # 3 classes of 12 drawings, 28 of them in the training split: one batch of the recipe's 64.
            ["with BatchNorm statistics recomputed on 28 training drawings"],
        ),
        ("baseline", ["--init-seed", "4"], "config", "init seed", ["4 (initialisation and order"]),
    ],
    ids=["focal", "averaging-mixing", "precise-bn", "init-seed"],
)
def test_the_run_screen_shows_what_a_run_trained_with(tmp_path, helpers, recipe, given, tab, row, shown):
    runs = tmp_path / "runs"
    assert main(registry.get(recipe), [*SMALL, *given, "--runs-dir", str(runs)]) == 0
    (run,) = runs.iterdir()

    async def scenario() -> None:
        app = KerasketchApp(runs_dir=runs, watch_interval=0)
        async with app.run_test(size=(140, 40)) as pilot:
            app.open_run(str(run))
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, RunScreen), 30, "the run screen")
            await pilot.press("3" if tab == "config" else "2")

            def config() -> str:
                # The tab shows a Rich table: printed as plain text, as a terminal would show it.
                console = Console(width=200, file=io.StringIO(), record=True)
                console.print(app.screen.query_one(f"#{tab}-text", Static).content)
                return console.export_text()

            await helpers.wait_for(pilot, lambda: row in config(), 30, f"the {tab} tab")
            for text in shown:
                assert text in config()

    helpers.run_async(scenario())

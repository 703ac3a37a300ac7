"""The run screen's line of system figures (images/s, CPU, memory, GPU) under the epoch table."""

from __future__ import annotations

import json

from textual.widgets import Static

from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.screens.run_detail import RunScreen
from kerasketch.tui.widgets.epoch_table import EpochTable


def _with_system(path, figures):
    lines = []
    for line in (path / "events.jsonl").read_text().splitlines():
        obj = json.loads(line)
        if obj["event"] == "epoch":
            obj["system"] = {**figures, "images_per_second": 100.0 * obj["epoch"]}
        lines.append(json.dumps(obj))
    (path / "events.jsonl").write_text("\n".join(lines) + "\n")


def test_the_highlighted_epochs_figures_show_and_old_runs_show_none(runs_dir, helpers, compare_runs):
    new = compare_runs.write_run(
        runs_dir, 0, recipe="like_vgg_adamw", seed=0, max_per_class=150, top=0.6, epochs=5, best=3
    )
    old = compare_runs.write_run(runs_dir, 1, recipe="baseline", seed=0, max_per_class=150, top=0.5, epochs=4, best=2)
    _with_system(
        new, {"cpu_percent": 187.5, "rss_bytes": 1.5 * 2**30, "gpu_percent": 91.0, "gpu_memory_bytes": 3 * 2**30}
    )

    async def scenario():
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            app.open_run(app.store.key_for_folder(new))
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, RunScreen), 30, "the run screen")
            await pilot.pause()
            line = app.screen.query_one("#system-line", Static)
            assert line.display
            text = str(line.render())
            assert text.startswith("epoch 5:") and "500 images/s" in text and "CPU 188%" in text
            assert "memory 1.5 GB" in text and "GPU 91%" in text and "GPU memory 3.0 GB" in text
            table = app.screen.query_one(EpochTable)
            table.focus()
            await pilot.press("up", "up")
            await pilot.pause()
            assert str(line.render()).startswith("epoch 3:") and "300 images/s" in str(line.render())

            await pilot.press("escape")
            app.open_run(app.store.key_for_folder(old))
            await helpers.wait_for(
                pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.key != "", 30, "the old run"
            )
            await pilot.pause()
            assert not app.screen.query_one("#system-line", Static).display

    helpers.run_async(scenario())

"""Snapshots: the launch form, its defaults and its inline errors. Nothing is launched."""

from __future__ import annotations

from textual.widgets import Input

from kerasketch.tui.app import KerasketchApp


def open_form(recipe: str, focus: str | None = None):
    async def run_before(pilot) -> None:
        pilot.app.open_launch(recipe)
        await pilot.pause()
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False  # a blinking cursor makes snapshots flaky
        if focus is not None:
            # The form opens on its first field; keys meant for another must not race that focus.
            pilot.app.screen.query_one(focus, Input).focus()
            await pilot.pause()

    return run_before


class TestLaunchForm:
    def test_defaults_from_the_recipe_80x24(self, snap_compare, runs_dir):
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0)
        assert snap_compare(app, run_before=open_form("like_vgg_adamw"), terminal_size=(80, 24))

    def test_dashboard_data_option_is_the_default_80x24(self, snap_compare, runs_dir):
        app = KerasketchApp(runs_dir=runs_dir, data="synthetic", watch_interval=0)
        assert snap_compare(app, run_before=open_form("baseline"), terminal_size=(80, 24))

    def test_errors_show_beside_the_fields_80x24(self, snap_compare, runs_dir):
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0)
        # Epochs "0", then back to "Max per class" (30) and "Fraction" (2): three errors.
        press = ["ctrl+a", "ctrl+k", "0", "shift+tab", "3", "0", "shift+tab", "2", "ctrl+s"]
        assert snap_compare(
            app, run_before=open_form("like_vgg_adamw", focus="#f-epochs"), press=press, terminal_size=(80, 24)
        )

    def test_pretrained_recipe_takes_weights_120x36(self, snap_compare, runs_dir):
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0)
        assert snap_compare(app, run_before=open_form("vgg16_bn"), terminal_size=(120, 36))

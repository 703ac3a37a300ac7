"""The launch form under hostile typing: every field, every nasty string, the app stays up and says why."""

from __future__ import annotations

import asyncio

from textual.widgets import Input, Static

from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.launch import FIELDS

HOSTILE = ["²", "١٢", "-1", "1e9", "nan", "inf", "../x", "😀", "~nobody/x", "x" * 5000, "a\x00b", " "]


def test_hostile_text_in_every_field_shows_a_message_and_the_app_keeps_running(runs_dir):
    async def scenario() -> None:
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            app.open_launch("vgg16_bn")  # a pretrained recipe: its weights field is enabled too
            await pilot.pause()
            screen = app.screen
            shown: dict[str, set[str]] = {}
            for name, _label, _hint in FIELDS:
                field = screen.query_one(f"#f-{name}", Input)
                for text in HOSTILE:
                    field.value = text  # Input.Changed runs the form's checks, as typing does
                    await pilot.pause()
                    assert app.is_running and app.screen is screen, f"{name}={text[:20]!r} closed the form"
                    error = str(screen.query_one(f"#e-{name}", Static).render())
                    if text.strip():
                        shown.setdefault(name, set()).add(error)
                field.value = ""
                await pilot.pause()
            # Pressing start with a bad field keeps the form open and names how many to fix.
            screen.query_one("#f-epochs", Input).value = "²"
            await pilot.pause()
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.is_running and app.screen is screen
            assert "to fix" in str(screen.query_one("#command", Static).render())
        for name in ("fraction", "max_per_class", "epochs", "patience", "batch_size", "seed"):
            assert "a whole number, please" in shown[name] or "a number in (0, 1], please" in shown[name], name
            assert "" not in shown[name], f"{name} accepted a hostile value silently: {shown[name]}"
        assert "a whole number, please" in shown["classes"]  # '²' looks like a number and is none
        assert any("no such file" in e for e in shown["data"])
        assert any("existing file" in e for e in shown["weights"])

    asyncio.run(scenario())

"""An Input that applies its own editing keys in the order the keys arrive.

Textual runs a widget's key bindings (backspace, delete, arrows, home/end)
only after the key has bubbled back up from the widget, while a typed
character is inserted at once. When several keys arrive in one read, as
they do over a slow SSH link or from ``tmux send-keys``, a character can
overtake the backspaces typed before it: "100", three backspaces and "2"
gave "1" (the 2 went in first, then the backspaces took it and both zeros).
Running the bindings as the key arrives keeps the order.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Checkbox, Input


class FormInput(Input):
    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            for key in event.aliases or [event.key]:
                bindings = self._bindings.key_to_bindings.get(key)
                if bindings:
                    event.stop()
                    event.prevent_default()
                    await self.run_action(bindings[0].action)
                    return
        await super()._on_key(event)


class FormCheckbox(Checkbox):
    """A checkbox whose mark says on or off by itself (✓ or nothing), not only by its colour."""

    BUTTON_INNER = " "  # off, until the value says otherwise

    def watch_value(self) -> None:
        self.BUTTON_INNER = "✓" if self.value else " "
        super().watch_value()

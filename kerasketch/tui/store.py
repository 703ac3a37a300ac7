"""Every run the dashboard shows: the children it launched and the folders on disk.

A child becomes a folder once it writes its start event; from then on both
describe the same run, and the child's state (which has what the folder
lacks: its stderr, how its process ended) is the one shown.
"""

from __future__ import annotations

from pathlib import Path

from kerasketch.training.datakey import DataKey

from .history import best_by_recipe, data_groups, sort_runs
from .runstate import RunState


class RunStore:
    def __init__(self) -> None:
        self.live: dict[str, RunState] = {}
        self.disk: dict[str, RunState] = {}
        self.trials: dict[str, RunState] = {}  # sweeps' trials opened from their trials table
        self.sort_by = "started"  # how the history is sorted: "started" or "best"
        self.data_key: str | None = None  # whose data's best runs the recipes show (None: the default data)
        self.tag: str | None = None  # the runs table lists only the runs with this tag (None: every run)
        self.show_archived = False  # the runs table lists the archived runs too (the app reads .archive/ then)

    def add_live(self, state: RunState) -> None:
        self.live[state.key] = state

    def get(self, key: str) -> RunState | None:
        return self.live.get(key) or self.disk.get(key) or self.trials.get(key)

    def shown(self) -> list[RunState]:
        """Every run but the archived ones: what the recipes' best runs and counts are drawn from."""
        return [s for s in self._all() if not s.archived]

    def _all(self) -> list[RunState]:
        claimed = {str(s.run_dir) for s in self.live.values() if s.run_dir is not None}
        return [*self.live.values(), *(s for k, s in self.disk.items() if k not in claimed)]

    def listed(self) -> list[RunState]:
        """The runs table's runs: the archived ones too where asked for, only ``tag``'s where one is given."""
        runs = self._all() if self.show_archived else self.shown()
        return [s for s in runs if self.tag is None or self.tag in s.tags]

    def tags(self) -> list[str]:
        """Every tag of the runs, most used first."""
        counts: dict[str, int] = {}
        for s in self._all():
            for t in s.tags:
                counts[t] = counts.get(t, 0) + 1
        return sorted(counts, key=lambda t: (-counts[t], t))

    def forget(self, key: str) -> None:
        """A run whose folder moved or went: the next scan shows it where it is now, if anywhere."""
        state = self.get(key)
        self.live.pop(key, None)
        self.trials.pop(key, None)
        self.disk.pop(key, None)
        if state is not None and state.run_dir is not None:
            self.disk.pop(str(state.run_dir), None)

    def key_for_folder(self, path: Path) -> str:
        """The key a folder is shown under (its child's, if this dashboard launched it)."""
        for state in self.live.values():
            if state.run_dir is not None and str(state.run_dir) == str(path):
                return state.key
        return str(path)

    def sorted(self) -> list[RunState]:
        return sort_runs(self.listed(), self.sort_by)

    def best_by_recipe(self) -> tuple[DataKey | None, dict[str, RunState]]:
        """(the data shown, the best run per recipe on it): ``data_key``'s, else the default data."""
        return best_by_recipe(self.shown(), self.data_key)

    def next_data(self) -> DataKey | None:
        """Show the next data's best runs (in :func:`data_groups`' order, round to the first)."""
        keys = [k for k, _ in data_groups(self.shown())]
        if not keys:
            return None
        shown, _ = self.best_by_recipe()
        at = keys.index(shown) if shown in keys else -1
        self.data_key = keys[(at + 1) % len(keys)].key
        return keys[(at + 1) % len(keys)]

    def data_count(self) -> int:
        return len(data_groups(self.shown()))

    def counts_by_recipe(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.shown():
            counts[s.recipe] = counts.get(s.recipe, 0) + 1
        return counts

    def active(self) -> list[RunState]:
        return [s for s in self.live.values() if s.active]

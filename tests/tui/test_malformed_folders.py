"""No file may crash the dashboard: a runs folder full of damage, opened for real, and fuzzed readers."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from kerasketch.errors import KerasketchError
from kerasketch.runs import events, folders
from kerasketch.runs.state import RunSummary
from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.history import RunsFolder, load_state
from kerasketch.tui.runstate import RunState
from kerasketch.tui.screens.confusion import ConfusionScreen
from kerasketch.tui.screens.dashboard import DashboardScreen
from kerasketch.tui.screens.run_detail import RunScreen
from kerasketch.tui.widgets.runs_table import RunsTable


def damaged_runs(runs_dir: Path, helpers) -> dict[str, str]:
    """Folders with one defect each; returns folder name -> the status it must show."""
    good = helpers.write_finished(runs_dir, "good-20261101-000000", "like_vgg", day=1)
    cfg = json.loads((good / "config.json").read_text())
    evs = [json.loads(line) for line in (good / "events.jsonl").read_text().splitlines()]

    def folder(name: str, config, lines: list[str] | bytes, **files) -> None:
        path = runs_dir / name
        path.mkdir()
        (path / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
        if isinstance(lines, bytes):
            (path / "events.jsonl").write_bytes(lines)
        else:
            (path / "events.jsonl").write_text("".join(line + "\n" for line in lines))
        for filename, content in files.items():
            target = path / filename.replace("_dot_", ".")
            target.write_bytes(content) if isinstance(content, bytes) else target.write_text(content)

    def bad(**change):
        out = []
        for e in evs:
            out.append(json.dumps({**e, **change} if e["event"] == "epoch" else e))
        return out

    folder("string-epoch", cfg, bad(epoch="three"))  # every epoch malformed, the rest reads
    folder("list-metrics", cfg, bad(metrics=[1, 2]))
    folder("config-list-recipe", {**cfg, "recipe": ["like_vgg"]}, [json.dumps(e) for e in evs])
    folder("config-missing-fields", {}, [json.dumps(e) for e in evs])
    folder("binary-events", cfg, bytes(range(256)) * 8)
    folder("binary-config", "\x00\xff", [json.dumps(e) for e in evs])
    folder("eval-garbage", cfg, [json.dumps(e) for e in evs], eval_dot_json='{"test": [1], "per_class": {"a": 1}}')
    folder("confusion-garbage", cfg, [json.dumps(e) for e in evs], confusion_dot_csv=b"\x00\x01,\xff\n")
    folder("end-reason-number", cfg, [json.dumps(e) for e in evs[:-1]] + [json.dumps({**evs[-1], "reason": 7})])
    (runs_dir / "events-is-a-folder").mkdir()
    (runs_dir / "events-is-a-folder" / "config.json").write_text(json.dumps(cfg))
    (runs_dir / "events-is-a-folder" / "events.jsonl").mkdir()
    (runs_dir / "config-is-a-folder").mkdir()
    (runs_dir / "config-is-a-folder" / "config.json").mkdir()
    (runs_dir / "empty-folder").mkdir()
    (runs_dir / "a-file-not-a-folder").write_bytes(b"\x89PNG junk")
    return {
        "good-20261101-000000": "early_stopped",
        "string-epoch": "early_stopped",
        "list-metrics": "early_stopped",
        "config-list-recipe": "unreadable",
        "config-missing-fields": "early_stopped",
        "binary-events": "unreadable",
        "binary-config": "unreadable",
        "eval-garbage": "early_stopped",
        "confusion-garbage": "early_stopped",
        "end-reason-number": "interrupted",
        "events-is-a-folder": "unreadable",
        "config-is-a-folder": "unreadable",
    }


def test_a_runs_folder_full_of_damage_is_listed_and_every_screen_opens(runs_dir, helpers):
    expected = damaged_runs(runs_dir, helpers)

    async def scenario():
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0, ui_interval=0.01, progress_interval=0.01)
        async with app.run_test(size=(140, 40), notifications=True) as pilot:
            table = app.screen.query_one(RunsTable)
            assert table.row_count == len(expected)  # junk beside the folders is not a run
            shown = {s.name: str(s.status) for s in app.store.shown()}
            assert shown == expected
            for name in ("config-list-recipe", "binary-events", "events-is-a-folder"):
                state = app.store.get(f"runs/{name}")
                assert state.error and name in state.error, state.error  # the reason names the folder
            assert "field 'recipe' should be an object" in app.store.get("runs/config-list-recipe").error
            assert "epoch should be a whole number" in app.store.get("runs/string-epoch").problems[0]
            await pilot.press("2")
            for row in range(table.row_count):  # every row previews, opens, and its tabs draw
                table.move_cursor(row=row)
                key = table.selected_key
                await helpers.settle(pilot)
                app.open_run(key)
                await helpers.wait_for(pilot, lambda: isinstance(app.screen, RunScreen), 30, f"{key} opened")
                for tab in ("2", "3", "4", "1"):
                    await pilot.press(tab)
                await helpers.settle(pilot)
                if not app.store.get(key).active:
                    app.open_confusion(key)
                    await helpers.wait_for(pilot, lambda: isinstance(app.screen, ConfusionScreen), 30, "confusion")
                    await pilot.pause()
                    await pilot.press("escape")
                await helpers.wait_for(pilot, lambda: isinstance(app.screen, RunScreen), 30, "back to the run")
                await pilot.press("escape")
                await helpers.wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), 30, "the dashboard")
            app.open_run("runs/eval-garbage")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, RunScreen), 30, "the run")
            await pilot.press("2")
            await helpers.settle(pilot)
            text = helpers.text_of(app.screen.query_one("#evaluation-text"))
            assert "eval.json cannot be shown" in text and "field 'test' should be an object" in text
            assert not [n for n in app._notifications if "display error" in n.message]

    helpers.run_async(scenario())


def test_a_childs_error_line_is_the_error_and_its_hint_a_hint():
    state = RunState(key="k", name="n", status=events.Status.PREPARING)
    state.exited(2, ["error: data path x does not exist", "hint: give a file or folder with --data", ""])
    assert state.error.endswith(": data path x does not exist\n  hint: give a file or folder with --data")
    killed = RunState(key="k", name="n", status=events.Status.RUNNING)
    killed.exited(-signal.SIGKILL, [])
    assert killed.status == "killed"


def test_the_resume_checkbox_says_on_and_off_without_colour(helpers):
    from textual.app import App

    from kerasketch.tui.widgets.form_input import FormCheckbox

    class One(App):
        def compose(self):
            yield FormCheckbox("fresh", compact=True)

    async def scenario():
        async with One().run_test() as pilot:
            box = pilot.app.query_one(FormCheckbox)
            off = box.render().plain
            box.value = True
            await helpers.wait_for(pilot, lambda: box.render().plain != off, 30, "the mark to change")
            assert "✓" in box.render().plain and "✓" not in off

    helpers.run_async(scenario())


# -- fuzzing the readers ----------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(
    ["epoch", "step", "steps", "metrics", "reason", "pid", "config", "dataset", "run_dir", "best_epoch", "lr"]
)
events_like = st.fixed_dictionaries(
    {"event": st.sampled_from([*events.KINDS, "other"])}, optional={"run": json_values, "time": json_values}
).flatmap(lambda base: st.dictionaries(field_names, json_values, max_size=5).map(lambda extra: {**base, **extra}))
configs_like = (
    st.dictionaries(
        st.sampled_from(["recipe", "dataset", "versions", "params", "created", "data"]), json_values, max_size=4
    )
    | json_values
)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@seed(12)
@FUZZ
@given(obj=events_like | json_values)
def test_parse_raises_only_the_projects_error(obj):
    try:
        event = events.parse(obj)
    except events.EventError:
        return
    if event is not None:
        RunSummary(name="n").apply(event)  # whatever parses, folds


def _check_folder(path: Path) -> None:
    try:
        info = folders.load(path)
        info.evaluation()
        folders.read_evaluation(path)
        folders.read_confusion(path)
    except KerasketchError:
        pass
    state = load_state(path)  # the dashboard's reader never raises
    assert state.status in events.Status


@seed(34)
@FUZZ
@given(config=configs_like, lines=st.lists(events_like, max_size=6), raw=st.binary(max_size=200))
def test_run_folder_readers_raise_only_the_projects_error(tmp_path_factory, config, lines, raw):
    path = tmp_path_factory.mktemp("fuzz")
    (path / "config.json").write_text(json.dumps(config))
    (path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    (path / "eval.json").write_text(json.dumps(config))
    _check_folder(path)
    (path / "events.jsonl").write_bytes(raw)
    (path / "config.json").write_bytes(raw[::-1])
    (path / "confusion.csv").write_bytes(raw)
    _check_folder(path)
    RunsFolder(path.parent).scan()


@pytest.mark.parametrize(
    "bad",
    [b"\x00" * 10, b"{" * 100_000, b'{"event": "epoch", "epoch": 1e999}'],
    ids=["nul-bytes", "deep-nesting", "infinite-number"],
)
def test_pathological_lines_are_skipped_or_refused(tmp_path, bad):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "events.jsonl").write_bytes(bad + b"\n" + b'{"event": "status", "message": "x"}\n')
    info = folders.load(tmp_path)
    assert info.problems and info.status == "interrupted"

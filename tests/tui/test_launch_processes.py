"""The launch form's Processes field (issue 32 item 3): checked with the run command's ``nproc`` limit,
against the global batch it shares out, and passed to the child as ``--nproc N`` when above 1."""

from __future__ import annotations

from textual.widgets import Input, Static

from kerasketch import validation
from kerasketch.cli.run import build_parser
from kerasketch.recipes import registry
from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.launch import LaunchRequest, check_field, check_form, defaults
from kerasketch.tui.screens.launch_form import LaunchScreen


def texts(recipe, **changes) -> dict[str, str]:
    return {**defaults(recipe), **changes}


def test_processes_become_the_run_commands_nproc_and_one_is_left_off(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    r = registry.get("baseline")
    assert defaults(r)["nproc"] == "1"
    request, errors = check_form(r, texts(r, data="synthetic"))
    assert errors == {} and request.nproc == 1 and "--nproc" not in request.argv(tmp_path)
    request, errors = check_form(r, texts(r, data="synthetic", nproc="2"))
    assert errors == {}
    options = request.options()
    assert options[options.index("--nproc") :][:2] == ["--nproc", "2"]
    assert build_parser(r).parse_args(options).nproc == 2  # the child's parser takes it as typed
    assert LaunchRequest("baseline").options() == []


def test_several_processes_are_refused_where_the_children_would_not_train_on_torch(monkeypatch):
    r = registry.get("baseline")
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert "torch backend only, not jax" in (check_field("nproc", "2", r)[1] or "")
    assert check_field("nproc", "1", r) == (1, None)
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert check_field("nproc", "2", r) == (2, None)


def test_processes_are_checked_with_the_run_commands_limit_and_the_batch(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)  # the children's backend: torch
    r = registry.get("baseline")  # batch 64
    limit = validation.LIMITS["nproc"]
    assert check_field("nproc", "0", r)[1] == "at least 1"
    assert check_field("nproc", "two", r)[1] == "a whole number, please"
    too_many = str(int(limit.maximum) + 1)
    # The same words the run command's --nproc says for that text.
    try:
        validation.parse("nproc", too_many)
    except validation.OptionError as err:
        said = err.brief
    assert check_field("nproc", too_many, r)[1] == said
    _, errors = check_form(r, texts(r, data="synthetic", nproc="3"))
    assert errors == {"nproc": "batch 64 does not split over 3 processes: a multiple of 3, please"}
    _, errors = check_form(r, texts(r, data="synthetic", nproc="2", batch_size="63"))
    assert "does not split over 2 processes" in errors["nproc"]
    assert check_form(r, texts(r, data="synthetic", nproc="3", batch_size="96"))[1] == {}


def test_the_form_shows_nproc_in_its_command_and_refuses_what_the_run_would(runs_dir, helpers, monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    chosen: list[LaunchRequest | None] = []

    async def scenario() -> None:
        app = KerasketchApp(runs_dir=runs_dir, data="synthetic", watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            app.push_screen(LaunchScreen("baseline", "synthetic", runs_dir), chosen.append)
            await helpers.wait_for(
                pilot,
                lambda: isinstance(app.screen, LaunchScreen) and bool(app.screen.query("#command")),
                30,
                "the launch form",
            )
            await pilot.pause()  # its on_mount: the command line shown
            screen = app.screen
            command = screen.query_one("#command", Static)
            error = screen.query_one("#e-nproc", Static)
            field = screen.query_one("#f-nproc", Input)
            assert field.value == "1" and "--nproc" not in helpers.text_of(command)

            field.value = "0"
            await helpers.wait_for(pilot, lambda: helpers.text_of(error) == "at least 1", 10, "the field's message")
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, LaunchScreen) and not chosen  # refused: nothing starts
            assert field.has_focus and "1 field to fix" in helpers.text_of(command)

            field.value = "3"  # baseline's batch of 64 does not split over 3
            await helpers.wait_for(pilot, lambda: "split over 3" in helpers.text_of(error), 10, "the split message")
            screen.query_one("#f-batch_size", Input).value = "96"  # ... 96 does: the message goes
            await helpers.wait_for(pilot, lambda: helpers.text_of(error) == "", 10, "the message to clear")
            field.value = "2"
            await helpers.wait_for(
                pilot, lambda: "--nproc 2" in helpers.text_of(command), 10, "the command to say --nproc 2"
            )
            await pilot.press("ctrl+s")
            await helpers.wait_for(pilot, lambda: bool(chosen), 10, "the form to start")
        (request,) = chosen
        assert request is not None and request.nproc == 2 and request.batch_size == 96
        argv = request.argv(runs_dir)
        assert argv[argv.index("--nproc") :][:2] == ["--nproc", "2"]

    helpers.run_async(scenario())

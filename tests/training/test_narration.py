"""A run's words: run.log keeps every line, the presenter decides what a person sees."""

from __future__ import annotations

import io

from kerasketch.presenter import Terminal
from kerasketch.runs import events
from kerasketch.training.narration import Narration, Note, Silent


class Recorder:
    """A presenter that keeps what it was given."""

    def __init__(self):
        self.notes: list[Note] = []

    def note(self, note: Note) -> None:
        self.notes.append(note)

    def data_progress(self):
        return Silent().data_progress()


def test_run_log_keeps_every_line_said_before_and_after_the_folder_exists(tmp_path):
    seen = Recorder()
    out = Narration(seen)
    out.say("preparing\ntwo lines")
    out.open_log(tmp_path / "run.log")
    out.epochs = 3
    out.on_event(events.make("epoch", "r", epoch=1, metrics={"loss": 1.5, "val_accuracy": 0.25}, lr=0.001, seconds=2.0))
    out.say("finished", essential=True)
    out.log_only("Traceback: only in the log")
    out.close()
    log = (tmp_path / "run.log").read_text().splitlines()
    assert log[:2] == ["preparing", "two lines"]
    assert log[2].startswith("epoch   1/3  loss 1.5000  acc -  val_loss -  val_acc 0.2500")
    assert log[3:] == ["finished", "Traceback: only in the log"]
    assert [n.text for n in seen.notes] == log[:4]
    assert [n.essential for n in seen.notes] == [False, False, False, True]


def test_silent_shows_nothing_but_the_log_is_kept(tmp_path, capsys):
    out = Narration()
    out.open_log(tmp_path / "rank-1.log")
    out.say("rank 1: finished after 2 epochs", essential=True)
    out.close()
    assert capsys.readouterr() == ("", "")
    assert (tmp_path / "rank-1.log").read_text() == "rank 1: finished after 2 epochs\n"


def test_the_terminal_shows_lines_on_stdout_and_only_the_essential_ones_when_quiet(capsys):
    Terminal().note(Note("model baseline: ..."))
    quiet = Terminal(quiet=True)
    quiet.note(Note("model baseline: ..."))
    quiet.note(Note("finished 3 epochs", essential=True))
    assert capsys.readouterr() == ("model baseline: ...\nfinished 3 epochs\n", "")


def test_the_terminal_speaks_on_stderr_when_the_events_take_stdout(capsys):
    Terminal.for_command(quiet=False, events="-").note(Note("a line"))
    Terminal.for_command(quiet=False, events="events.jsonl").note(Note("another"))
    assert capsys.readouterr() == ("another\n", "a line\n")


def test_a_reader_that_went_away_ends_the_terminals_lines_not_the_run(monkeypatch):
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    monkeypatch.setattr("sys.stdout", Closed())
    terminal = Terminal()
    terminal.note(Note("first"))  # no exception
    assert terminal.quiet
    terminal.note(Note("finished", essential=True))  # still tried, still no exception

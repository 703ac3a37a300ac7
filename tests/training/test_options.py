"""Hostile option values: one message naming the option, exit 2, nothing written anywhere.

The same check (kerasketch.validation) answers the command line and the
dashboard's launch form, so the two say the same thing.
"""

from __future__ import annotations

import pytest

from kerasketch import validation
from kerasketch.cli.run import main
from kerasketch.recipes.like_vgg_adamw import RECIPE
from kerasketch.tui.launch import check_field


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "²"], "--epochs must be a whole number, got '²'"),
        (["--epochs", "١٢"], "--epochs must be a whole number, got '١٢'"),
        (["--epochs", "1e9"], "--epochs must be a whole number"),
        (["--epochs", "1000000"], "--epochs must be at most 100,000, got 1000000"),
        (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
        (["--patience", "-1"], "--patience must be at least 0, got -1"),
        (["--image-size", "²"], "--image-size must be a whole number"),
        (["--classes", "²"], "--classes must be a whole number, got '²'"),
        (["--classes", "١٢"], "--classes must be a whole number"),
        (["--classes", "1"], "--classes must be at least 2, got 1"),
        (["--classes", " , ,"], "names no class"),
        (["--fraction", "nan"], "--fraction must be in (0, 1], got nan"),
        (["--fraction", "²"], "--fraction must be a number in (0, 1]"),
        (["--max-per-class", "²"], "--max-per-class must be a whole number"),
        (["--seed", "²"], "--seed must be a whole number"),
        (["--seed", "4294967296"], "--seed must be at most 4,294,967,295, got 4294967296"),
        (["--seed", "-1"], "--seed must be at least 0, got -1"),
        (["--name", "../../x"], "--name '../../x' is not a plain folder name"),
        (["--name", "a/b"], "--name 'a/b' is not a plain folder name"),
        (["--name", ".."], "--name '..' is not a plain folder name"),
        (["--name", "x" * 300], "is not a plain folder name"),
    ],
)
def test_bad_values_are_one_message_exit_2_and_leave_nothing(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    runs = tmp_path / "deep" / "er" / "runs"
    assert main(RECIPE, [*argv, "--runs-dir", str(runs), "--data", "synthetic", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err, err
    assert "Traceback" not in err and "internal error" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == [], "nothing written, inside --runs-dir or out of it"


def test_the_form_shows_the_same_verdict_as_the_command_line():
    for name, text in (("epochs", "0"), ("seed", "4294967296"), ("fraction", "2"), ("batch_size", "²")):
        with pytest.raises(validation.OptionError) as caught:
            validation.parse(name, text)
        brief = check_field(name, text, RECIPE)[1]
        assert brief == caught.value.brief and brief.removesuffix(", please") in caught.value.message


def test_good_values_pass_unchanged():
    assert validation.parse("epochs", " 12 ") == 12
    assert validation.parse("fraction", "0.01") == 0.01
    assert validation.parse("seed", str(validation.MAX_SEED)) == validation.MAX_SEED
    assert validation.parse_classes("cat, dog") == ("cat", "dog")
    assert validation.parse_classes("200") == 200 and validation.parse_classes("all") is None
    assert validation.check_run_name("like_vgg-try.2+b") == "like_vgg-try.2+b"

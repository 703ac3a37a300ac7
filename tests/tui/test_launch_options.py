"""The launch form's checks and the child's command line (pure functions, no terminal)."""

from __future__ import annotations

import sys

from kerasketch.options import settings_from_args
from kerasketch.recipes import registry
from kerasketch.tui.launch import LaunchRequest, check_field, check_form, child_env, defaults


def texts(recipe, **changes) -> dict[str, str]:
    return {**defaults(recipe), **changes}


def test_defaults_come_from_the_recipe_and_the_dashboard_data_option():
    r = registry.get("vgg16_bn")
    d = defaults(r, "synthetic")
    assert d["epochs"] == str(r.epochs) and d["batch_size"] == str(r.batch_size) and d["patience"] == str(r.patience)
    assert d["weights"] == "imagenet" and d["data"] == "synthetic"
    assert defaults(registry.get("baseline"))["weights"] == ""


def test_the_child_command_reads_events_on_stdout_and_uses_the_runs_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    request, errors = check_form(
        registry.get("like_vgg_adamw"),
        texts(registry.get("like_vgg_adamw"), data="synthetic", max_per_class="30", epochs="2"),
    )
    assert errors == {}
    argv = request.argv(tmp_path / "runs")
    assert argv[:3] == [sys.executable, "-m", "kerasketch.recipes.like_vgg_adamw"]
    assert argv[3:7] == ["--events", "-", "--runs-dir", str(tmp_path / "runs")]
    joined = " ".join(argv)
    assert "--data synthetic" in joined and "--max-per-class 30" in joined and "--epochs 2" in joined
    assert "--fraction" not in joined and "--weights" not in joined and "--fresh" not in joined
    assert LaunchRequest("baseline", fresh=True).options() == ["--fresh"]
    assert child_env()["KERAS_BACKEND"] == "torch"


def test_the_child_trains_with_the_users_backend(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert child_env()["KERAS_BACKEND"] == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "")
    assert child_env()["KERAS_BACKEND"] == "torch"


def test_numbers_are_checked_with_the_recipes_limits():
    r = registry.get("like_vgg")
    assert check_field("epochs", "0", r)[1] == "at least 1"
    assert check_field("epochs", "two", r)[1] == "a whole number, please"
    assert check_field("patience", "0", r) == (0, None)
    assert check_field("batch_size", "-3", r)[1] == "at least 1"
    assert check_field("fraction", "1.5", r)[1]
    assert check_field("fraction", "0.01", r) == (0.01, None)
    assert check_field("seed", "", r) == (None, None)  # empty: the recipe's default
    assert check_field("classes", "0", r)[1]
    assert check_field("classes", "cat, dog", r) == ("cat, dog", None)


def test_data_and_weights_are_checked(tmp_path):
    r = registry.get("like_vgg")
    assert "no such file" in check_field("data", str(tmp_path / "missing"), r)[1]
    assert check_field("data", str(tmp_path), r) == (str(tmp_path), None)
    assert check_field("data", "synthetic", r) == ("synthetic", None)
    assert "from scratch" in check_field("weights", "imagenet", r)[1]
    assert check_field("weights", "none", registry.get("resnet50")) == ("none", None)


def test_fraction_and_max_per_class_exclude_each_other():
    r = registry.get("like_vgg")
    request, errors = check_form(r, texts(r, fraction="0.5", max_per_class="30"))
    assert request is None
    assert set(errors) == {"fraction", "max_per_class"}


def test_the_command_line_rejects_a_missing_data_path(tmp_path, capsys):
    from kerasketch.tui.__main__ import build_parser, main

    assert main(["--data", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    args = build_parser().parse_args(["--runs-dir", "elsewhere", "--data", "synthetic"])
    assert str(args.runs_dir) == "elsewhere" and args.data == "synthetic"


def test_trackers_are_named_once_each_and_become_repeated_track_options(tmp_path):
    r = registry.get("like_vgg_adamw")
    assert check_field("track", "", r) == (None, None)
    assert check_field("track", "MLflow, tensorboard mlflow", r) == (("mlflow", "tensorboard"), None)
    assert "unknown tracker 'neptune'" in (check_field("track", "neptune", r)[1] or "")
    request, errors = check_form(r, texts(r, data="synthetic", track="tensorboard,wandb"))
    assert errors == {}
    argv = request.argv(tmp_path)
    assert argv[-4:] == ["--track", "tensorboard", "--track", "wandb"]
    request, _ = check_form(r, texts(r, data="synthetic"))
    assert "--track" not in request.argv(tmp_path)


def test_a_tracker_whose_package_is_missing_is_refused_in_the_form(monkeypatch):
    # Python's import system reports a module set to None in sys.modules as not installed.
    monkeypatch.setitem(sys.modules, "wandb", None)
    error = check_field("track", "wandb", registry.get("baseline"))[1] or ""
    assert "wandb is not installed" in error and "kerasketch[track]" in error


def test_precision_shuffle_set_and_compile_become_the_run_commands_own_options(tmp_path):
    from kerasketch.cli.run import apply_overrides, build_parser

    r = registry.get("like_vgg_adamw")
    assert check_field("precision", "bf16", r)[1] == "one of float32, mixed_bfloat16, auto"
    assert check_field("shuffle", "random", r)[1] == "exact or chunks"
    assert "is not NAME=VALUE" in (check_field("set", "learning_rate", r)[1] or "")
    assert check_field("set", "nonsense=1", r)[1]
    request, errors = check_form(
        r,
        texts(r, data="synthetic", precision="mixed_bfloat16", shuffle="chunks", set="learning_rate=0.003, l2=0.0001"),
        jit_compile=True,
    )
    assert errors == {}
    options = request.options()
    assert options[options.index("--precision") :][:2] == ["--precision", "mixed_bfloat16"]
    assert options.count("--set") == 2 and "--jit-compile" in options and "--shuffle" in options
    # The child's parser takes every option the form writes, with the values typed.
    args = build_parser(r).parse_args(options)
    assert args.precision == "mixed_bfloat16" and args.shuffle == "chunks" and args.jit_compile
    assert apply_overrides(r, settings_from_args(args)).optimizer_settings["learning_rate"] == 0.003


def test_the_form_has_a_field_or_switch_for_the_run_commands_options():
    from kerasketch.cli.run import build_parser
    from kerasketch.tui.launch import FIELDS, SWITCHES

    offered = {name for name, _, _ in FIELDS} | {name for name, _, _ in SWITCHES}
    wanted = {"precision", "shuffle", "set", "jit_compile", "fresh", "epochs", "max_per_class", "track"}
    dests = set(vars(build_parser(registry.get("baseline")).parse_args([])))
    assert wanted <= dests and wanted <= offered  # one name for each option, in the parser and the form


def test_the_imbalance_remedies_are_form_fields_the_run_command_takes(tmp_path):
    from kerasketch.cli.run import build_parser

    r = registry.get("like_vgg_adamw")
    assert check_field("class_weight", "inverse", r)[1] == "none or balanced"
    assert check_field("logit_adjust", "-1", r)[1] == "in [0, 10]"
    assert "leave empty" in (check_field("logit_adjust", "1", registry.get("like_vgg_focal"))[1] or "")
    assert check_field("sampler", "oversample", r)[1] == "uniform or balanced"
    _, errors = check_form(r, texts(r, data="synthetic", sampler="balanced", shuffle="chunks"))
    assert "not with the chunks shuffle" in errors["sampler"]
    request, errors = check_form(
        r, texts(r, data="synthetic", class_weight="balanced", logit_adjust="1.5", sampler="balanced")
    )
    assert errors == {}
    options = request.options()
    assert options[options.index("--class-weight") :][:2] == ["--class-weight", "balanced"]
    args = build_parser(r).parse_args(options)
    assert args.class_weight == "balanced" and args.logit_adjust == 1.5 and args.sampler == "balanced"
    assert "--class-weight" not in check_form(r, texts(r, data="synthetic"))[0].options()


def test_the_config_tab_names_the_imbalance_remedies_a_run_trained_with():
    from kerasketch.tui.present import imbalance_remedies

    assert imbalance_remedies({"class_weight": "none", "logit_adjust": 0.0}) == ""
    assert imbalance_remedies({}) == ""  # runs from before the options
    both = imbalance_remedies({"class_weight": "balanced", "logit_adjust": 1.0, "sampler": "balanced"})
    assert both == "class weights balanced; logit-adjusted loss, tau 1; balanced sampling"


def test_the_loss_and_the_focal_options_are_form_fields_the_run_command_takes():
    from kerasketch.cli.run import apply_overrides, build_parser

    r = registry.get("like_vgg_adamw")
    assert check_field("loss", "hinge", r)[1] == "one of cross_entropy, focal, softmax_focal"
    assert "softmax_focal takes that" in (check_field("loss", "focal", registry.get("sketch_resnet"))[1] or "")
    assert "choose a focal loss" in (check_field("focal_alpha", "balanced", r)[1] or "")
    assert check_field("focal_alpha", "balanced", r, "softmax_focal") == ("balanced", None)
    assert check_field("focal_alpha", "-1", r, "focal")[1] == "in (0, 1]"
    assert check_field("focal_gamma", "11", registry.get("like_vgg_focal"))[1] == "in [0, 10]"
    # The loss typed in the form decides, not the recipe's: the focal recipe trained with the cross-entropy
    # takes a logit adjustment and no focal options.
    focal = registry.get("like_vgg_focal")
    _, errors = check_form(focal, texts(focal, data="synthetic", loss="cross_entropy", logit_adjust="1"))
    assert errors == {}
    _, errors = check_form(focal, texts(focal, data="synthetic", loss="cross_entropy", focal_gamma="1"))
    assert "choose a focal loss" in errors["focal_gamma"]
    request, errors = check_form(
        r, texts(r, data="synthetic", loss="softmax_focal", focal_alpha="balanced", focal_gamma="1.5")
    )
    assert errors == {}
    options = request.options()
    assert options[options.index("--loss") :][:2] == ["--loss", "softmax_focal"]
    args = build_parser(r).parse_args(options)
    assert args.loss == "softmax_focal" and args.focal_alpha == "balanced" and args.focal_gamma == 1.5
    assert apply_overrides(r, settings_from_args(args)).loss == "softmax_focal"
    assert "--loss" not in check_form(r, texts(r, data="synthetic"))[0].options()


def test_choosing_a_loss_in_the_form_checks_its_options_again(runs_dir):
    import asyncio

    from textual.widgets import Input, Static

    from kerasketch.tui.app import KerasketchApp

    async def scenario() -> None:
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            app.open_launch("like_vgg_focal")
            await pilot.pause()
            screen = app.screen

            def error(name: str) -> str:
                return str(screen.query_one(f"#e-{name}", Static).render())

            screen.query_one("#f-logit_adjust", Input).value = "1"
            await pilot.pause()
            assert "trains with the focal loss" in error("logit_adjust")
            screen.query_one("#f-focal_alpha", Input).value = "balanced"
            await pilot.pause()
            assert error("focal_alpha") == ""
            screen.query_one("#f-loss", Input).value = "cross_entropy"
            await pilot.pause()
            assert error("logit_adjust") == "" and "choose a focal loss" in error("focal_alpha")
            screen.query_one("#f-loss", Input).value = "softmax_focal"
            await pilot.pause()
            assert "softmax_focal loss" in error("logit_adjust") and error("focal_alpha") == ""

    asyncio.run(scenario())

"""Recipes are data: the registry and the listing import neither Keras nor torch nor h5py,
and the parameter counts they show equal those of the really built models."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from kerasketch.recipes import param_counts as recorded
from kerasketch.recipes import registry


def modules_imported_by(code: str) -> list[str]:
    check = "\nimport sys\nprint(sorted(m for m in ('keras', 'torch', 'torchvision', 'h5py') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code + check],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={**os.environ, "KERAS_BACKEND": "torch"},
    )
    return eval(out.stdout.strip().splitlines()[-1])


def test_getting_every_recipe_imports_no_keras_torch_or_h5py():
    code = "import kerasketch.recipes.registry as r\n[r.get(n) for n in r.NAMES]"
    assert modules_imported_by(code) == []


def test_kerasketch_list_imports_no_keras_torch_or_h5py():
    code = "from kerasketch.cli import main\nmain(['list', '--json'])"
    assert modules_imported_by(code) == []


def test_every_recipe_model_has_recorded_counts():
    assert {r.model for r in registry.all_recipes()} <= set(recorded.COUNTS)


def test_the_recorded_counts_are_derived_from_the_model_counters():
    """COUNTS is a copy of the models' counters (kerasketch.models), kept so that listing imports no
    Keras or torch: each line is read off the counter at 1, 2 and 3 classes, and a stale or missing
    line fails with the line to write."""
    from kerasketch.models import MODELS, param_counts

    derived = {}
    for model in MODELS:
        (t1, n1), (t2, n2), (t3, n3) = (param_counts(model, c) for c in (1, 2, 3))
        squared = (t3 - 2 * t2 + t1) // 2
        per_class = t2 - t1 - 3 * squared
        assert n1 - t1 == n2 - t2 == n3 - t3, f"{model}: the non-trainable count depends on the classes"
        derived[model] = recorded.Counts(t1 - per_class - squared, per_class, squared, n1 - t1)
    lines = "\n".join(
        f'    "{m}": Counts({c.fixed:_}, {c.per_class}, {c.per_class_squared}, {c.non_trainable:_}),'
        for m, c in derived.items()
    )
    assert derived == recorded.COUNTS, f"kerasketch/recipes/param_counts.py's COUNTS should read:\n{lines}"


@pytest.mark.parametrize("model", sorted(recorded.COUNTS))
@pytest.mark.parametrize("num_classes", [1, 3, 37, 200, 345])
def test_recorded_counts_equal_the_model_counters(model, num_classes):
    from kerasketch.models import param_counts

    assert recorded.param_counts(model, num_classes) == param_counts(model, num_classes)


@pytest.mark.parametrize("model", ["baseline", "ts_cnn", "like_vgg", "ai_inno_cnn", "sketch_resnet"])
@pytest.mark.parametrize("num_classes", [3, 50])
def test_recorded_counts_equal_a_built_keras_model(model, num_classes):
    from kerasketch.models import build_model

    built = build_model(model, num_classes)
    trainable = sum(int(np.prod(v.shape)) for v in built.trainable_weights)
    assert recorded.param_counts(model, num_classes) == (trainable, built.count_params())


def test_unknown_model_and_bad_class_counts_are_config_errors():
    from kerasketch.errors import ConfigError

    with pytest.raises(ConfigError, match="lenet"):
        recorded.param_counts("lenet", 10)
    with pytest.raises(ConfigError, match="--num-classes"):
        recorded.param_counts("baseline", 0)

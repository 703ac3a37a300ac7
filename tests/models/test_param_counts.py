"""Parameter counts: the PyTorch originals' figures, the arithmetic counter
against really built models, the registry and its errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from pytorch_originals import ORIGINAL_TOTAL, ORIGINAL_TRAINABLE

import kerasketch  # noqa: F401  (selects the torch backend before keras loads)
from kerasketch.errors import ConfigError
from kerasketch.models import MODELS, ModelSpec, build_model, param_counts

pytestmark = pytest.mark.backends
PRETRAINED = pytest.mark.torch_only("wraps a torchvision module")


def _torch_only_if_pretrained(*params):
    """Parameter sets whose first item names a pretrained model run on torch only."""
    return [
        pytest.param(*p, marks=PRETRAINED) if p[0] in ("vgg16_bn", "resnet50") else pytest.param(*p) for p in params
    ]


# Keras also counts BatchNorm moving mean and variance (non-trainable).
BN_CHANNELS = {"baseline": 0, "ts_cnn": 0, "like_vgg": 32 + 32 + 64 + 64, "ai_inno_cnn": 64 + 128 + 256}


def keras_counts(model) -> tuple[int, int]:
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    return trainable, model.count_params()


def test_registry_holds_the_six_architectures_and_ours():
    assert list(MODELS) == ["baseline", "ts_cnn", "like_vgg", "ai_inno_cnn", "vgg16_bn", "resnet50", "sketch_resnet"]
    for name, spec in MODELS.items():
        assert isinstance(spec, ModelSpec) and spec.name == name and spec.description
    assert {n for n, s in MODELS.items() if s.pretrained} == {"vgg16_bn", "resnet50"}
    assert {n: s.image_size for n, s in MODELS.items()} == {
        "baseline": 28,
        "ts_cnn": 32,
        "like_vgg": 28,
        "ai_inno_cnn": 32,
        "vgg16_bn": 32,
        "resnet50": 32,
        "sketch_resnet": 28,
    }


@pytest.mark.parametrize("name", list(ORIGINAL_TRAINABLE))
def test_counts_at_200_classes_equal_the_pytorch_originals(name):
    trainable, total = param_counts(name)
    assert trainable == ORIGINAL_TRAINABLE[name]
    if name in ORIGINAL_TOTAL:
        assert total == ORIGINAL_TOTAL[name]
    else:
        assert total == trainable + 2 * BN_CHANNELS[name]


@pytest.mark.parametrize(
    "name, num_classes, image_size, options",
    [
        ("baseline", 200, None, {}),
        ("baseline", 10, 28, {}),
        ("ts_cnn", 200, None, {}),
        ("ts_cnn", 37, 40, {"ts_cnn_head": "global_pool"}),
        ("like_vgg", 200, None, {}),
        ("like_vgg", 3, None, {}),
        ("ai_inno_cnn", 200, None, {}),
        ("ai_inno_cnn", 10, 48, {}),
    ],
)
def test_counter_equals_a_built_keras_model(name, num_classes, image_size, options):
    model = build_model(name, num_classes, image_size, **options)
    assert param_counts(name, num_classes, image_size) == keras_counts(model)


@PRETRAINED
@pytest.mark.parametrize("name", ["vgg16_bn", "resnet50"])
def test_counter_equals_a_built_pretrained_model(name):
    model = build_model(name, 200, weights=None)
    assert keras_counts(model) == (ORIGINAL_TRAINABLE[name], ORIGINAL_TOTAL[name])
    assert param_counts(name, 200) == keras_counts(model)


def test_pretrained_counts_follow_the_head_width():
    # Only the last layer depends on the classes: 4096 (vgg) or 2048 (resnet) inputs.
    vgg_trainable, vgg_total = param_counts("vgg16_bn", 10)
    assert ORIGINAL_TRAINABLE["vgg16_bn"] - vgg_trainable == 190 * 4097
    assert ORIGINAL_TOTAL["vgg16_bn"] - vgg_total == 190 * 4097
    assert param_counts("resnet50", 10) == (10 * 2049, ORIGINAL_TOTAL["resnet50"] - 190 * 2049)


def test_ts_cnn_output_width_is_four_times_the_classes_unless_globally_pooled():
    assert build_model("ts_cnn", 200).output_shape == (None, 800)
    assert build_model("ts_cnn", 10, ts_cnn_head="global_pool").output_shape == (None, 10)
    assert param_counts("ts_cnn", 10) == keras_counts(build_model("ts_cnn", 10, ts_cnn_head="global_pool"))


@pytest.mark.parametrize(
    "name", _torch_only_if_pretrained(("baseline",), ("like_vgg",), ("ai_inno_cnn",), ("vgg16_bn",), ("resnet50",))
)
def test_models_emit_one_logit_per_class_on_channels_first_input(name):
    size = MODELS[name].image_size
    model = build_model(name, 7, weights=None)
    assert model.input_shape == (None, 1, size, size)
    assert model.output_shape == (None, 7)


def test_unknown_model_names_the_known_ones():
    with pytest.raises(ConfigError) as caught:
        build_model("vgg19")
    assert "vgg19" in str(caught.value)
    for name in MODELS:
        assert name in str(caught.value)
    with pytest.raises(ConfigError):
        param_counts("lenet")


@pytest.mark.parametrize(
    "name, image_size",
    _torch_only_if_pretrained(
        ("baseline", 32), ("like_vgg", 32), ("ts_cnn", 26), ("ai_inno_cnn", 23), ("vgg16_bn", 31)
    ),
)
def test_image_sizes_the_architecture_cannot_take_are_refused(name, image_size):
    with pytest.raises(ConfigError, match=f"{image_size}x{image_size}"):
        build_model(name, image_size=image_size, weights=None)
    with pytest.raises(ConfigError):
        param_counts(name, image_size=image_size)


@pytest.mark.parametrize(
    "name, image_size", _torch_only_if_pretrained(("ts_cnn", 27), ("ai_inno_cnn", 24), ("resnet50", 16))
)
def test_smallest_image_sizes_build(name, image_size):
    model = build_model(name, 5, image_size, weights=None, ts_cnn_head="global_pool")
    assert model.output_shape == (None, 5)


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="head"):
        build_model("ts_cnn", ts_cnn_head="avg")
    with pytest.raises(ConfigError, match="l2"):
        build_model("resnet50", weights=None, l2=1e-4)
    with pytest.raises(ConfigError):
        build_model("baseline", num_classes=0)


def test_importing_the_registry_does_not_import_torchvision():
    code = "import kerasketch.models, sys; print('torchvision' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

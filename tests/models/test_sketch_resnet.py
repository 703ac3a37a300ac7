"""sketch_resnet, ours: builds at any size and class count, counts its parameters, augments in training only.

Also the two pieces it brought: the fused Conv2D's "same" padding and the
label-smoothed cross-entropy and cosine schedule.
"""

from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest

from kerasketch.errors import ConfigError
from kerasketch.losses import build_loss
from kerasketch.models import build_model, param_counts
from kerasketch.models import layers as fused
from kerasketch.models.augment import RandomAffine, affine_matrices, augmentation_layers, with_augmentation
from kerasketch.optimizers import learning_rate
from kerasketch.recipes import param_counts as recorded
from kerasketch.recipes import registry

pytestmark = pytest.mark.backends

ALL_AUGMENTATIONS = {"rotation": 0.05, "zoom": 0.1, "translation": 0.1, "erasing": 0.5}


def _np(x) -> np.ndarray:
    return np.array(keras.ops.convert_to_numpy(x))


def _counts(model) -> tuple[int, int]:
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights), model.count_params()


@pytest.mark.parametrize(
    "num_classes, image_size, options",
    [
        (37, 28, {}),
        (2, 8, {}),  # the smallest size: 8 -> 4 -> 2 through the two stride-2 stages
        (200, 32, {}),
        (10, 45, {"width": 8, "blocks": 1, "se_ratio": 0.0, "dropout": 0.0}),  # odd sizes: 45 -> 23 -> 12
        (5, 28, {"width": 16, "blocks": 3, "se_ratio": 0.5}),
    ],
)
def test_builds_at_class_counts_and_sizes_with_the_counted_parameters(num_classes, image_size, options):
    model = build_model("sketch_resnet", num_classes, image_size, seed=0, **options)
    assert model.input_shape == (None, 1, image_size, image_size)
    assert model.output_shape == (None, num_classes)
    assert _counts(model) == param_counts("sketch_resnet", num_classes, image_size, **options)
    x = np.random.default_rng(0).random((3, 1, image_size, image_size), dtype=np.float32)
    assert _np(model(x, training=False)).shape == (3, num_classes)


def test_recorded_counts_are_the_recipes_model():
    recipe = registry.get("sketch_resnet")
    for c in (1, 37, 200):
        assert recorded.param_counts("sketch_resnet", c) == param_counts("sketch_resnet", c, **recipe.model_options)
    assert param_counts("sketch_resnet", 200) == (343_616, 344_960)
    assert param_counts("sketch_resnet", 200, blocks=2) == (742_616, 744_856)


def test_bad_sizes_and_options_are_config_errors():
    with pytest.raises(ConfigError, match="7x7"):
        build_model("sketch_resnet", 5, 7)
    with pytest.raises(ConfigError, match="width"):
        build_model("sketch_resnet", 5, width=0)
    with pytest.raises(ConfigError, match="se_ratio"):
        param_counts("sketch_resnet", 5, se_ratio=2.0)
    with pytest.raises(ConfigError, match="depth"):
        build_model("sketch_resnet", 5, depth=3)
    with pytest.raises(ConfigError, match="takes no options"):
        build_model("like_vgg", 5, width=3)


def test_blocks_start_as_the_identity_and_learn_from_their_shortcuts():
    # The last BN of every block starts with scale 0, so each block passes its shortcut on.
    model = build_model("sketch_resnet", 4, 16, seed=0)
    zero = [layer for layer in model.layers if layer.name.endswith("_bn2")]
    assert zero and all(not _np(layer.gamma).any() for layer in zero)


def test_fused_same_padding_equals_keras_own_convolution():
    x = np.random.default_rng(3).random((2, 3, 9, 9), dtype=np.float32)
    ours = fused.Conv2D(5, 3, padding="same", data_format="channels_first", use_bias=True)
    stock = keras.layers.Conv2D(5, 3, padding="same", data_format="channels_first", use_bias=True)
    ours.build(x.shape)
    stock.build(x.shape)
    stock.set_weights([w + 0.1 for w in ours.get_weights()])
    ours.set_weights(stock.get_weights())
    np.testing.assert_allclose(_np(ours(x)), _np(stock(x)), atol=1e-5)


def test_augmentation_acts_in_training_only_and_keeps_the_logits_in_inference():
    model = with_augmentation(build_model("sketch_resnet", 6, 28, seed=0), ALL_AUGMENTATIONS, seed=1)
    assert [layer.name for layer in model.layers[1:-1]] == ["augment_affine", "augment_erasing"]
    assert model.count_params() == build_model("sketch_resnet", 6, 28).count_params()  # no weights of their own
    x = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    first, second = _np(model(x, training=False)), _np(model(x, training=False))
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(_np(model.predict(x, verbose=0)), first)
    augmented = x
    for layer in model.layers[1:-1]:
        augmented = layer(augmented, training=True)
    assert np.abs(_np(augmented) - x).max() > 0.1, "training-mode augmentation changed nothing"


@pytest.mark.torch_only("the torch path is grid_sample; the other backends call Keras' affine_transform itself")
def test_the_torch_resampling_equals_kerass_affine_transform():
    from kerasketch.models.augment import _torch_affine_transform

    x = np.random.default_rng(2).random((4, 1, 28, 28), dtype=np.float32)

    def maps():  # new each time: Keras' torch affine_transform rewrites the transforms it is given
        angle, zoom, dx, dy = (
            np.array(v, np.float32)
            for v in ([0, 0.3, -0.2, 0.1], [0, 0.1, -0.1, 0.05], [3, 0, 1.5, -2], [0, 0, -2.5, 1])
        )
        return affine_matrices(*(keras.ops.convert_to_tensor(v) for v in (angle, zoom, dx, dy)), 28)

    keras_own = keras.ops.image.affine_transform(
        x, maps(), interpolation="bilinear", fill_mode="constant", fill_value=0.0, data_format="channels_first"
    )
    ours = _torch_affine_transform(keras.ops.convert_to_tensor(x), maps())
    np.testing.assert_allclose(_np(ours), _np(keras_own), atol=1e-5)
    np.testing.assert_allclose(_np(ours)[0, 0, :, 3:], x[0, 0, :, :-3], atol=1e-5)  # 3 pixels to the right


def test_random_affine_moves_each_image_its_own_way_within_its_factors():
    x = np.zeros((32, 1, 28, 28), np.float32)
    x[:, 0, 12:16, 12:16] = 1.0  # a square in the middle
    out = _np(RandomAffine(translation=0.1, seed=3)(x, training=True))
    ys, xs = np.arange(28)[:, None], np.arange(28)[None, :]
    mass = out[:, 0].sum(axis=(1, 2))
    cx, cy = (out[:, 0] * xs).sum(axis=(1, 2)) / mass, (out[:, 0] * ys).sum(axis=(1, 2)) / mass
    assert np.abs(cx - 13.5).max() <= 2.8 + 1e-3 and np.abs(cy - 13.5).max() <= 2.8 + 1e-3  # at most 0.1 x 28
    assert np.std(cx) > 0.5 and np.std(cy) > 0.5  # drawn per image and per axis
    np.testing.assert_allclose(mass, 16.0, rtol=1e-4)  # a pure shift keeps the ink
    spun = _np(RandomAffine(rotation=0.25, seed=3)(x, training=True))
    assert np.abs(spun - x).max() > 0.1
    np.testing.assert_array_equal(_np(RandomAffine(rotation=0.25, seed=3)(x)), x)  # inference: unchanged


def test_no_augmentation_is_the_model_itself():
    model = build_model("baseline", 3)
    assert with_augmentation(model, {}) is model
    assert with_augmentation(model, {"rotation": 0.0}) is model


def test_bad_augmentations_name_the_setting():
    with pytest.raises(ConfigError, match="'blur'"):
        augmentation_layers({"blur": 0.1})
    with pytest.raises(ConfigError, match="'zoom' must be a number from 0 to 1"):
        augmentation_layers({"zoom": 3})


def test_saved_model_reloads_with_only_what_the_prediction_child_imports(tmp_path):
    model = with_augmentation(build_model("sketch_resnet", 6, 28, seed=0), ALL_AUGMENTATIONS, seed=1)
    x = np.random.default_rng(1).random((3, 1, 28, 28), dtype=np.float32)
    want = _np(model(x, training=False))
    path = tmp_path / "best.keras"
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    # kerasketch.inference.model is what `kerasketch predict --serve` (the dashboard's child) loads with.
    code = (
        "import sys, numpy as np\n"
        "from kerasketch.training.external import _load_model\n"
        f"m = _load_model(__import__('pathlib').Path({str(path)!r}))\n"
        f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
        "a, b = m.predict(x, verbose=0), m.predict(x, verbose=0)\n"
        f"np.save({str(tmp_path / 'got.npy')!r}, a); assert (a == b).all()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "got.npy"), want, atol=1e-5)


def test_label_smoothing_is_kerass_categorical_option_on_integer_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 4)).astype(np.float32)
    labels = np.array([0, 3, 1, 1, 2])
    smoothed = build_loss("cross_entropy", 4, label_smoothing=0.1)
    reference = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    want = float(_np(reference(np.eye(4, dtype=np.float32)[labels], logits)))
    assert float(_np(smoothed(labels, logits))) == pytest.approx(want, rel=1e-6)
    plain = float(_np(build_loss("cross_entropy", 4)(labels, logits)))
    assert plain != pytest.approx(want, rel=1e-3)
    with pytest.raises(ConfigError, match="label_smoothing"):
        build_loss("focal", 4, label_smoothing=0.1)


def test_cosine_schedule_warms_up_linearly_then_decays_to_zero():
    schedule = learning_rate("cosine", 0.002, steps_per_epoch=10, epochs=10, warmup_epochs=2)
    lr = [float(_np(schedule(step))) for step in (0, 10, 20, 60, 100)]
    assert lr[0] == 0.0 and lr[1] == pytest.approx(0.001) and lr[2] == pytest.approx(0.002)
    assert lr[3] == pytest.approx(0.001, rel=1e-4) and lr[4] == pytest.approx(0.0, abs=1e-9)
    assert learning_rate("constant", 0.001, steps_per_epoch=10, epochs=10) == 0.001
    # A run cut to one epoch still warms up (for half of it) and decays.
    short = learning_rate("cosine", 0.002, steps_per_epoch=10, epochs=1, warmup_epochs=2)
    assert float(_np(short(5))) == pytest.approx(0.002) and float(_np(short(10))) == pytest.approx(0.0, abs=1e-9)

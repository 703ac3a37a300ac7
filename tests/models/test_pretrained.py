"""The two torchvision models: frozen/trainable split, forward pass, BatchNorm
behaviour, weights resolution without network, and saving by reference.

All with random or locally written weights: nothing here needs the ImageNet
checkpoints or a network.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
import pytest
import torch
import torchvision

import kerasketch  # noqa: F401  (selects the torch backend before keras loads)
from kerasketch.errors import ConfigError, KerasketchError
from kerasketch.models import build_model, pretrained
from kerasketch.models.pretrained import IMAGENET_MEAN, IMAGENET_STD, TorchvisionClassifier

NUM_CLASSES = 200
BATCH = 2


def images(seed: int = 0, size: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).random((BATCH, 1, size, size), dtype=np.float32)


def wrapped(model: keras.Model) -> TorchvisionClassifier:
    (layer,) = [layer for layer in model.layers if isinstance(layer, TorchvisionClassifier)]
    return layer


def torch_reference_logits(module: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """What torchvision's own preprocessing and the module give, in eval mode."""
    rgb = torch.from_numpy(x).repeat(1, 3, 1, 1)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    module.eval()
    with torch.no_grad():
        return module((rgb - mean) / std).numpy()


@pytest.fixture(scope="module")
def resnet_state_file(tmp_path_factory) -> Path:
    """A local state-dict file for torchvision's resnet50 (random, 1000 classes)."""
    path = tmp_path_factory.mktemp("weights") / "resnet50-local.pth"
    torch.manual_seed(123)
    torch.save(torchvision.models.resnet50(weights=None).state_dict(), path)
    return path


@pytest.fixture(scope="module")
def vgg16_bn() -> keras.Model:
    return build_model("vgg16_bn", NUM_CLASSES, weights=None, seed=0)


def test_vgg16_bn_freezes_features_and_trains_the_whole_classifier(vgg16_bn):
    module = wrapped(vgg16_bn).module
    trainable = {n for n, p in module.named_parameters() if p.requires_grad}
    assert trainable == {f"classifier.{i}.{w}" for i in (0, 3, 6) for w in ("weight", "bias")}
    assert module.classifier[6].out_features == NUM_CLASSES
    assert sum(int(np.prod(v.shape)) for v in vgg16_bn.trainable_weights) == 120_365_256
    assert sum(int(np.prod(v.shape)) for v in vgg16_bn.non_trainable_weights) == 135_088_392 - 120_365_256


def test_vgg16_bn_forward_is_the_torch_module_on_imagenet_normalised_rgb(vgg16_bn):
    x = images()
    got = vgg16_bn.predict(x, verbose=0)
    assert got.shape == (BATCH, NUM_CLASSES)
    np.testing.assert_allclose(got, torch_reference_logits(wrapped(vgg16_bn).module, x), rtol=1e-5, atol=1e-5)


def test_resnet50_freezes_everything_but_the_new_fc():
    model = build_model("resnet50", NUM_CLASSES, weights=None, seed=0)
    module = wrapped(model).module
    assert {n for n, p in module.named_parameters() if p.requires_grad} == {"fc.weight", "fc.bias"}
    assert module.fc.out_features == NUM_CLASSES
    assert sum(int(np.prod(v.shape)) for v in model.trainable_weights) == 409_800
    assert model.count_params() == 23_917_832
    x = images()
    np.testing.assert_allclose(model.predict(x, verbose=0), torch_reference_logits(module, x), rtol=1e-5, atol=1e-5)


def test_seed_makes_the_new_head_reproducible_without_touching_the_global_rng():
    torch.manual_seed(7)
    before = torch.rand(1)
    torch.manual_seed(7)
    a = wrapped(build_model("resnet50", 10, weights=None, seed=5)).module.fc.weight
    after = torch.rand(1)
    b = wrapped(build_model("resnet50", 10, weights=None, seed=5)).module.fc.weight
    assert torch.equal(a, b)
    assert torch.equal(before, after)


def test_batchnorm_statistics_update_in_training_only_as_in_the_log():
    model = build_model("resnet50", NUM_CLASSES, weights=None, seed=0)
    bn = wrapped(model).module.bn1
    start = bn.running_mean.clone()
    model(images())  # training unset: inference, like any Keras layer
    model.predict(images(), verbose=0)
    assert torch.equal(bn.running_mean, start)
    model(images(), training=True)  # the log's model.train(): frozen BN still tracks
    assert not torch.equal(bn.running_mean, start)
    assert not bn.weight.requires_grad


def test_training_step_changes_the_head_and_bn_statistics_only():
    model = build_model("resnet50", NUM_CLASSES, weights=None, seed=0)
    module = wrapped(model).module
    before = {k: v.clone() for k, v in module.state_dict().items()}
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    model.train_on_batch(images(), np.array([3, 5]))
    after = module.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert {"fc.weight", "fc.bias"} <= changed
    assert all(k.startswith("fc.") or "running_" in k or "num_batches" in k for k in changed)
    assert "bn1.running_var" in changed and "layer4.2.bn3.running_mean" in changed
    assert torch.equal(before["conv1.weight"], after["conv1.weight"])


def test_save_and_load_round_trip_with_random_weights(tmp_path):
    model = build_model("resnet50", NUM_CLASSES, weights=None, seed=0)
    x = images()
    expected = model.predict(x, verbose=0)
    path = tmp_path / "best.keras"
    model.save(path)
    # Random weights cannot be referenced, so every tensor is written: ~96 MB.
    assert 90e6 < path.stat().st_size < 110e6
    restored = keras.saving.load_model(path)  # safe mode: nothing is unpickled
    np.testing.assert_array_equal(restored.predict(x, verbose=0), expected)
    assert isinstance(wrapped(restored), TorchvisionClassifier)


def test_saving_by_reference_writes_only_the_head_and_statistics(tmp_path, resnet_state_file):
    model = build_model("resnet50", NUM_CLASSES, weights=resnet_state_file, seed=0)
    model.compile(
        optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    model.train_on_batch(images(1), np.array([1, 2]))  # moves fc and the BN statistics
    x = images()
    expected = model.predict(x, verbose=0)

    path = tmp_path / "best.keras"
    model.save(path)
    # fc (409,800 floats) + BN buffers (~53k floats) + SGD's iteration count: under 2.5 MB.
    assert path.stat().st_size < 2.5e6
    config = model.get_config()
    layer_config = next(layer for layer in config["layers"] if layer["class_name"] == "TorchvisionClassifier")["config"]
    assert "module" not in layer_config
    assert layer_config["weights"] == str(resnet_state_file.resolve())
    assert len(layer_config["weights_sha256"]) == 64

    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), expected)
    saved = wrapped(model).module.state_dict()
    for key, value in wrapped(restored).module.state_dict().items():
        assert torch.equal(value, saved[key]), key


def test_changed_reference_file_is_refused_on_load(tmp_path, resnet_state_file):
    weights = tmp_path / "weights.pth"
    weights.write_bytes(resnet_state_file.read_bytes())
    model = build_model("resnet50", 10, weights=weights, seed=0)
    path = tmp_path / "model.keras"
    model.save(path)
    state = torch.load(weights, weights_only=True)
    state["conv1.weight"] += 1
    torch.save(state, weights)
    with pytest.raises(KerasketchError, match="changed since"):
        keras.saving.load_model(path)


def test_missing_reference_file_is_named_on_load(tmp_path, resnet_state_file):
    weights = tmp_path / "weights.pth"
    weights.write_bytes(resnet_state_file.read_bytes())
    path = tmp_path / "model.keras"
    build_model("resnet50", 10, weights=weights, seed=0).save(path)
    weights.unlink()
    with pytest.raises(KerasketchError, match=f"{weights} for resnet50 is missing"):
        keras.saving.load_model(path)


def test_missing_imagenet_weights_fail_fast_without_downloading(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.delenv(pretrained.ALLOW_DOWNLOAD_ENV, raising=False)

    def no_download(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(torchvision.models.WeightsEnum, "get_state_dict", no_download)
    with pytest.raises(KerasketchError) as caught:
        build_model("resnet50")
    message = str(caught.value)
    for choice in ("--weights imagenet", "--weights none", "--weights PATH"):
        assert choice in message
    assert str(tmp_path) in message and "resnet50-0676ba61.pth" in message


def test_imagenet_weights_are_read_from_the_torch_hub_cache(tmp_path, monkeypatch, resnet_state_file):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    cached = pretrained.imagenet_checkpoint_path("resnet50")
    assert cached == tmp_path / "checkpoints" / "resnet50-0676ba61.pth"
    cached.parent.mkdir()
    os.symlink(resnet_state_file, cached)
    model = build_model("resnet50", 10)
    expected = torch.load(resnet_state_file, weights_only=True)["layer1.0.conv1.weight"]
    assert torch.equal(wrapped(model).module.layer1[0].conv1.weight, expected)
    assert wrapped(model).get_config()["weights"] == "imagenet"


def test_download_only_when_allowed(tmp_path, monkeypatch, resnet_state_file):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setenv(pretrained.ALLOW_DOWNLOAD_ENV, "1")
    calls = []

    def fake_download(self, progress=True, check_hash=False):
        calls.append(self)
        return torch.load(resnet_state_file, weights_only=True)

    monkeypatch.setattr(torchvision.models.WeightsEnum, "get_state_dict", fake_download)
    build_model("resnet50", 10)
    assert calls == [torchvision.models.ResNet50_Weights.IMAGENET1K_V1]


@pytest.mark.parametrize("weights", ["imagenet21k", "/no/such/file.pth", 3])
def test_bad_weights_name_the_three_choices(weights):
    with pytest.raises(ConfigError, match="--weights none"):
        build_model("resnet50", weights=weights)


def test_a_state_dict_for_another_model_is_refused(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3)}, path)
    with pytest.raises(KerasketchError, match="do not fit"):
        build_model("resnet50", weights=path)


def test_other_backends_get_a_clear_error(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ConfigError, match="torch backend"):
        build_model("resnet50", weights=None)

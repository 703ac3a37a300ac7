"""The four from-scratch models against the log's PyTorch code, weight for weight.

Each test builds the original torch module (copied from the log below, with
``num_classes`` as a parameter), copies its weights into the Keras port and
compares: logits in inference mode, the loss and every gradient of one
training-mode forward/backward, BatchNorm statistics after it, and the weights
after one real ``train_on_batch`` step with the experiment's optimiser.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch_reference import (
    IMAGE_SIZES,
    ORIGINALS,
    copy_weights,
    paired_layers,
    to_keras_layout,
    torch_state,
)

import kerasketch  # noqa: F401  (selects the torch backend before keras loads)
from kerasketch.losses import build_loss
from kerasketch.models import build_model
from kerasketch.models.initializers import TorchDefaultBias, kaiming_relu_kernel, torch_default_kernel
from kerasketch.optimizers import TS_CNN_L2, TS_CNN_SGD, build_optimizer

pytestmark = pytest.mark.backends
ON_TORCH = keras.backend.backend() == "torch"
NUM_CLASSES = 200
BATCH = 8
LOGIT_ATOL = 1e-4
GRAD_ATOL = 1e-5
GRAD_RTOL = 1e-4
# Weights after one optimiser step. SGD's step is linear in the gradient, so it
# is compared everywhere, as tightly as the gradients. Adam and RMSprop divide
# by the gradient's own magnitude: their first step is about lr * sign(g)
# (RMSprop: 10 * lr * sign(g)) unless |g| is near epsilon, so they turn the
# rounding noise of tiny gradients into full-size steps in both frameworks.
# That noise reaches ~1e-6 of the largest gradient (the first conv's kernel
# gradient sums 8 x 26 x 26 terms that nearly cancel), and the conv biases in
# front of BatchNorm have a true gradient of 0. Such entries are not
# comparable; the rest must agree, and be nearly all. RMSprop's floor is
# higher because Keras puts epsilon inside the square root (see
# kerasketch.optimizers), which matters up to |g| ~ 1e-5.
STEP_TOLERANCES: dict[str, tuple[float, float, float]] = {
    # optimiser: (smallest comparable |gradient| / largest |gradient|, atol, least comparable share)
    "sgd": (0.0, 1e-6, 1.0),
    "adam": (1e-5, 1e-5, 0.98),
    "adamw": (1e-5, 1e-5, 0.98),
    "rmsprop": (1e-4, 2e-5, 0.95),  # its first step is 10 * lr: 0.2% of it
}


def torch_grads(module: nn.Module) -> list[np.ndarray]:
    return [to_keras_layout(module, module.weight.grad), to_keras_layout(module, module.bias.grad)]


def convs_followed_by_batchnorm(model: nn.Module) -> set[nn.Module]:
    """Convs whose output goes straight into BatchNorm: their bias is cancelled
    by the mean subtraction, so its true gradient is 0 and the computed one is
    rounding noise."""
    found = set()
    for sequential in (m for m in model.modules() if isinstance(m, nn.Sequential)):
        children = list(sequential)
        for conv, after in zip(children, children[1:]):
            if isinstance(conv, nn.Conv2d) and isinstance(after, nn.BatchNorm2d):
                found.add(conv)
    return found


def make_pair(name: str, *, l2: float = 0.0) -> tuple[nn.Module, keras.Model]:
    torch.manual_seed(0)
    original = ORIGINALS[name](NUM_CLASSES)
    port = build_model(name, NUM_CLASSES, l2=l2, seed=1)
    copy_weights(original, port)
    return original, port


def in_port_memory_format(original: nn.Module, x: torch.Tensor) -> tuple[nn.Module, torch.Tensor]:
    """The original computing in the channels_last memory format, as the port does on torch.

    The layout is only physical: results differ by the summation order of
    other convolution algorithms, which for the original itself reaches 6e-5
    between NCHW and channels_last (ai_inno_cnn's gradients), more than the
    gradient tolerance. Comparing like with like keeps the tolerance tight.
    (On the other backends the port runs the backend's own kernels.)
    """
    if not ON_TORCH:
        return original, x
    return original.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)


def make_batch(name: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    size = IMAGE_SIZES[name]
    images = rng.random((BATCH, 1, size, size), dtype=np.float32)
    labels = rng.integers(0, NUM_CLASSES, BATCH)
    return images, labels


def max_abs_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


# --------------------------------------------------------------------------


def test_initialisers_draw_from_pytorchs_distributions():
    fan_in = 6 * 5 * 5  # nn.Conv2d(6, 16, 5)
    conv = nn.Conv2d(6, 16, 5)
    draws = {
        "default kernel": (torch_default_kernel(seed=0)((5, 5, 6, 4000)), 1 / np.sqrt(fan_in)),
        "default bias": (TorchDefaultBias(fan_in, seed=0)((100_000,)), 1 / np.sqrt(fan_in)),
        "kaiming relu kernel": (kaiming_relu_kernel(seed=0)((5, 5, 6, 4000)), np.sqrt(6 / fan_in)),
    }
    for label, (values, bound) in draws.items():
        values = keras.ops.convert_to_numpy(values)
        assert np.abs(values).max() <= bound, label
        assert np.abs(values).max() > 0.99 * bound, label
        np.testing.assert_allclose(values.std(), bound / np.sqrt(3), rtol=0.01, err_msg=label)
    # PyTorch's own defaults for the same layer have the same bounds.
    assert np.abs(conv.weight.detach().numpy()).max() <= 1 / np.sqrt(fan_in)
    assert np.abs(conv.bias.detach().numpy()).max() <= 1 / np.sqrt(fan_in)
    restored = keras.initializers.deserialize(keras.initializers.serialize(TorchDefaultBias(fan_in, seed=3)))
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(restored((10,))), keras.ops.convert_to_numpy(TorchDefaultBias(fan_in, seed=3)((10,)))
    )


def test_seed_fixes_the_weights_and_equal_shapes_still_differ():
    a, b, c = (build_model("ts_cnn", NUM_CLASSES, seed=s) for s in (1, 1, 2))
    for wa, wb, wc in zip(a.get_weights(), b.get_weights(), c.get_weights()):
        np.testing.assert_array_equal(wa, wb)
        assert not np.array_equal(wa, wc)
    # l4_conv1 and l4_conv2 both have 200 biases, drawn with different seeds.
    assert not np.array_equal(a.get_layer("l4_conv1").get_weights()[1], a.get_layer("l4_conv2").get_weights()[1])


@pytest.mark.parametrize("name", list(ORIGINALS))
def test_initial_weights_follow_the_originals_distributions(name):
    """Same initialiser families: compare the per-layer bounds of |w| and |b|."""
    torch.manual_seed(0)
    original = ORIGINALS[name](NUM_CLASSES)
    port = build_model(name, NUM_CLASSES, seed=3)
    for t, k in paired_layers(original, port):
        if isinstance(t, nn.BatchNorm2d):
            gamma, beta, mean, var = k.get_weights()
            assert np.all(gamma == 1) and np.all(beta == 0) and np.all(mean == 0) and np.all(var == 1)
            continue
        fan_in = t.weight[0].numel()
        # kaiming_uniform(relu) bound sqrt(6/fan_in); PyTorch's default 1/sqrt(fan_in).
        relu_init = name != "baseline"
        # In float32, as the weights are: a draw may equal the bound rounded to float32.
        weight_bound = np.float32(np.sqrt(6 / fan_in) if relu_init else 1 / np.sqrt(fan_in))
        bias_bound = np.float32(1 / np.sqrt(fan_in))
        kernel, bias = k.get_weights()
        assert np.abs(kernel).max() <= weight_bound and np.abs(t.weight.detach().numpy()).max() <= weight_bound
        assert np.abs(bias).max() <= bias_bound and np.abs(t.bias.detach().numpy()).max() <= bias_bound
        if kernel.size >= 2000:  # uniform: std = bound / sqrt(3)
            np.testing.assert_allclose(kernel.std(), weight_bound / np.sqrt(3), rtol=0.05)
            np.testing.assert_allclose(t.weight.detach().numpy().std(), weight_bound / np.sqrt(3), rtol=0.05)


@pytest.mark.parametrize("name", list(ORIGINALS))
def test_inference_logits_equal(name):
    original, port = make_pair(name)
    images, _ = make_batch(name)
    original.eval()
    with torch.no_grad():
        expected = original(torch.from_numpy(images)).numpy()
    got = keras.ops.convert_to_numpy(port(images, training=False))
    assert got.shape == expected.shape
    assert max_abs_diff(got, expected) < LOGIT_ATOL


@pytest.mark.parametrize("name", list(ORIGINALS))
def test_training_loss_gradients_and_batchnorm_statistics_equal(name, training_pass):
    original, port = make_pair(name)
    images, labels = make_batch(name)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    original, x = in_port_memory_format(original, x)

    original.train()
    torch_loss = nn.CrossEntropyLoss()(original(x), y)
    torch_loss.backward()

    # On torch the port gets the same channels_last tensor; elsewhere the same numbers.
    keras_loss, keras_grads = training_pass(
        port, build_loss("cross_entropy", NUM_CLASSES), x if ON_TORCH else images, labels
    )

    assert abs(keras_loss - torch_loss.item()) < 1e-5
    for t, k in paired_layers(original, port):
        for got, expected in zip([keras_grads[v.path] for v in k.trainable_variables], torch_grads(t)):
            np.testing.assert_allclose(got, expected, rtol=GRAD_RTOL, atol=GRAD_ATOL)
        if isinstance(t, nn.BatchNorm2d):
            # kerasketch's BatchNormalization updates like nn.BatchNorm2d on every backend:
            # the unbiased batch variance goes into the moving variance.
            _, _, moving_mean, moving_var = k.get_weights()
            np.testing.assert_allclose(moving_mean, t.running_mean.numpy(), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(moving_var, t.running_var.numpy(), rtol=1e-5, atol=1e-6)

    # After the training step the two are in the same state: inference agrees.
    original.eval()
    with torch.no_grad():
        expected = original(x).numpy()
    assert max_abs_diff(keras.ops.convert_to_numpy(port(images, training=False)), expected) < LOGIT_ATOL


class LogFocalLoss(nn.Module):
    """The log's FocalLoss, with num_classes passed in and no .cuda()."""

    def __init__(self, num_classes: int, alpha: float = 0.25, gamma: float = 2):
        super().__init__()
        self.num_classes, self.alpha, self.gamma = num_classes, alpha, gamma

    def forward(self, inputs, targets):
        y = torch.zeros(targets.shape[0], self.num_classes)
        y[range(y.shape[0]), targets] = 1
        bce_loss = F.binary_cross_entropy_with_logits(inputs, y, reduction="none")
        pt = torch.exp(-bce_loss)
        return torch.sum(self.alpha * (1 - pt) ** self.gamma * bce_loss)


# The original's own calls: Adam and AdamW follow PyTorch's rule (kerasketch/pytorch_adam.py).
TORCH_OPTIMIZERS = {
    "sgd": lambda params: torch.optim.SGD(params, lr=0.01),
    "ts_cnn_sgd": lambda params: torch.optim.SGD(params, lr=0.001, momentum=0.9, weight_decay=0.0005),
    "adam": lambda params: torch.optim.Adam(params, lr=0.001),
    "rmsprop": lambda params: torch.optim.RMSprop(params, lr=0.001),
    "adamw": lambda params: torch.optim.AdamW(params, lr=0.001, weight_decay=0.01),
}
KERAS_OPTIMIZERS = {
    "sgd": lambda: build_optimizer("sgd"),
    "ts_cnn_sgd": lambda: build_optimizer("sgd", **TS_CNN_SGD),
    "adam": lambda: build_optimizer("adam"),
    "rmsprop": lambda: build_optimizer("rmsprop"),
    "adamw": lambda: build_optimizer("adamw"),
}
TORCH_LOSSES = {"cross_entropy": lambda: nn.CrossEntropyLoss(), "focal": lambda: LogFocalLoss(NUM_CLASSES)}

# The log's nine experiments minus the two pretrained ones: (model, loss, optimiser).
EXPERIMENTS = {
    "1_baseline": ("baseline", "cross_entropy", "sgd"),
    "4_ts_cnn": ("ts_cnn", "cross_entropy", "ts_cnn_sgd"),
    "5_like_vgg": ("like_vgg", "cross_entropy", "adam"),
    "6_like_vgg_focal": ("like_vgg", "focal", "adam"),
    "7_like_vgg_rmsprop": ("like_vgg", "cross_entropy", "rmsprop"),
    "8_like_vgg_adamw": ("like_vgg", "cross_entropy", "adamw"),
    "9_ai_inno_cnn": ("ai_inno_cnn", "cross_entropy", "adam"),
}


@pytest.mark.parametrize("experiment", list(EXPERIMENTS))
def test_one_train_on_batch_step_equals_the_original_step(experiment):
    """The experiment's model, loss and optimiser, through Keras' own fit path."""
    name, loss_name, opt_name = EXPERIMENTS[experiment]
    l2 = TS_CNN_L2 if opt_name == "ts_cnn_sgd" else 0.0  # weight_decay=5e-4, coupled
    original, port = make_pair(name, l2=l2)
    images, labels = make_batch(name)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    original, x = in_port_memory_format(original, x)

    initial = [p.detach().numpy().copy() for p in original.parameters()]
    original.train()
    torch_opt = TORCH_OPTIMIZERS[opt_name](original.parameters())
    torch_loss = TORCH_LOSSES[loss_name]()(original(x), y)
    torch_loss.backward()
    grads = {t: torch_grads(t) for t, _ in paired_layers(original, port)}
    torch_opt.step()

    port.compile(optimizer=KERAS_OPTIMIZERS[opt_name](), loss=build_loss(loss_name, NUM_CLASSES))
    keras_loss = port.train_on_batch(images, labels)

    # Keras reports the L2 penalty inside the loss; PyTorch keeps its decay in the optimiser.
    penalty = l2 * sum(float(np.sum(np.square(w, dtype=np.float64))) for w in initial)
    expected_loss = torch_loss.item() + penalty
    assert abs(keras_loss - expected_loss) <= 1e-5 * max(1.0, abs(expected_loss))

    relative_floor, atol, least_share = STEP_TOLERANCES[opt_name.removeprefix("ts_cnn_")]
    smallest_grad = relative_floor * max(float(np.abs(g).max()) for gs in grads.values() for g in gs)
    biases_cancelled_by_bn = convs_followed_by_batchnorm(original)
    compared = 0
    for t, k in paired_layers(original, port):
        got, expected = k.get_weights(), torch_state(t)
        for i, (g, e) in enumerate(zip(got, expected)):
            if isinstance(t, nn.BatchNorm2d) and i >= 2:
                np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)  # moving mean and variance
                continue
            grad = grads[t][i]
            # Zero gradients (dead ReLUs) give a zero step in both: exact.
            mask = (np.abs(grad) >= smallest_grad) | (grad == 0)
            if smallest_grad and i == 1 and t in biases_cancelled_by_bn:
                mask[:] = False
            np.testing.assert_allclose(g[mask], e[mask], rtol=1e-5, atol=atol)
            compared += int(mask.sum())
    total = sum(w.size for w in initial)
    assert compared >= least_share * total, f"only {compared} of {total} weights were comparable"

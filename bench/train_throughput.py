"""Training and inference throughput: kerasketch's real training path against plain PyTorch loops.

For each model, three ways of training one epoch on the same fixed data are
alternated in one process (A B C A B C ...) so that the machine's noise hits
them alike, and the medians are compared:

  A  kerasketch: exactly what a recipe runs (compile_model + plan_fit: the
     Batches input, Keras' callbacks and our events callback, model.fit);
  A' the same with ``--jit-compile`` (torch.compile), after its compiling
     warm-up epoch, whose length is reported (``--no-jit`` leaves it out);
  B  the original's plain PyTorch loop: DataLoader, zero_grad, backward, step,
     on NCHW tensors, as the log wrote it;
  C  the same loop with the channels_last memory format (oneDNN's fast path
     on CPU), the best plain PyTorch one can write without compiling;
  D  for Adam and AdamW recipes, C with torch's fused optimiser kernel
     (``fused=True``), which kerasketch's Adam runs: beyond the log's loop;
  A" kerasketch with Keras' own layers in place of its fused ones, the rest
     alike: the ratio A / A" is what the fused layers buy;
  E  with the compiled variant: the best plain loop (C, or D for Adam
     recipes) with its model under ``torch.compile``, which ``--jit-compile``
     is measured against.

Images per second count training steps only (from the first batch of an
epoch to the end of its last), not validation. Inference compares
``model.predict`` with a ``torch.no_grad`` loop at a large batch.

    python bench/train_throughput.py                       # like_vgg, baseline, ai_inno_cnn
    python bench/train_throughput.py --models like_vgg --rounds 7

The last line holds the headline ratios as name=value pairs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import kerasketch  # noqa: F401  selects the torch backend: before Keras, which otherwise reads ~/.keras/keras.json

# isort: split
import keras
import numpy as np
import torch
import torch.nn as nn

from kerasketch.inference.benchmark import cpu_model
from kerasketch.metrics import SparseCategoricalAccuracy
from kerasketch.recipes import registry
from kerasketch.runs.eventlog import EventSink
from kerasketch.training.fit import compile_model, plan_fit
from kerasketch.training.inputs import Batches

# The log's PyTorch models are test and benchmark code: they live beside the tests, not in the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from torch_reference import IMAGE_SIZES, ORIGINALS

# The recipe whose optimiser each model trains with: the headline is Like_VGG + AdamW.
RECIPE_OF = {"like_vgg": "like_vgg_adamw", "baseline": "baseline", "ai_inno_cnn": "ai_inno_cnn", "ts_cnn": "ts_cnn"}
NUM_CLASSES = 200
TORCH_COMPILE = "torch.compile, channels_last"
STOCK = "kerasketch, Keras' own layers"
NO_CHAIN = "kerasketch, no layer chain"


class StepTimer(keras.callbacks.Callback):
    """Seconds from an epoch's start to the end of its last training batch."""

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.end = time.perf_counter()


def torch_optimizer(name: str, params, fused: bool = False):
    recipe = registry.get(RECIPE_OF[name])
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=0.001, weight_decay=0.01, fused=fused or None)
    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, lr=0.001, fused=fused or None)
    if recipe.optimizer == "sgd" and recipe.l2:
        return torch.optim.SGD(params, lr=0.001, momentum=0.9, weight_decay=2 * recipe.l2)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(params, lr=0.01)
    return torch.optim.RMSprop(params, lr=0.001)


class KerasPath:
    def __init__(
        self,
        name: str,
        x: np.ndarray,
        y: np.ndarray,
        workdir: Path,
        jit_compile: bool = False,
        precision: str = "float32",
        stock_layers: bool = False,
        chain: bool = True,
    ):
        recipe = registry.get(RECIPE_OF.get(name, name))  # a model's recipe, or a recipe by name
        self.model = compile_model(recipe, NUM_CLASSES, seed=0, jit_compile=jit_compile, precision=precision)
        if stock_layers:
            self.model = with_stock_layers(self.model)
        elif not chain:
            self.model = without_chain(self.model)
        workdir.mkdir(parents=True, exist_ok=True)
        sink = EventSink()
        sink.open_file(workdir / "events.jsonl")
        self.plan = plan_fit(recipe, x, y, x[:64], y[:64], run_dir=workdir, sink=sink, name="bench", seed=0)
        self.timer = StepTimer()
        self.images = len(y)
        self.epoch = 0

    def epoch_rate(self) -> float:
        self.model.fit(
            self.plan.train,
            validation_data=self.plan.val,
            initial_epoch=self.epoch,
            epochs=self.epoch + 1,
            callbacks=[*self.plan.callbacks, self.timer],
            verbose=0,
            shuffle=False,
        )
        self.epoch += 1
        return self.images / (self.timer.end - self.timer.start)

    def inference_rate(self, x: np.ndarray, batch: int) -> float:
        data = Batches(x, np.zeros(len(x), np.int64), batch, shuffle=False)
        self.model.predict(data, verbose=0)  # warm
        start = time.perf_counter()
        self.model.predict(data, verbose=0)
        return len(x) / (time.perf_counter() - start)


def with_stock_layers(model: keras.Model) -> keras.Model:
    """``model`` rebuilt from Keras' own layers (kerasketch's fused ones swapped back), as a plain functional
    model, compiled alike: what the fused layers buy is its gap to :func:`without_chain`'s."""
    from kerasketch.models.stock import stock_model

    check = np.random.default_rng(0).random((2, *model.input_shape[1:]), dtype=np.float32)
    return compiled_like(model, stock_model(plain_twin(model), check))


def without_chain(model: keras.Model) -> keras.Model:
    """``model``'s layers as a plain functional model (each layer through its ``__call__``), compiled alike:
    what the layer chain (kerasketch/models/chain.py) buys is the gap between the two."""
    return compiled_like(model, plain_twin(model))


def plain_twin(model: keras.Model) -> keras.Model:
    return keras.Model(model.inputs, model.outputs, name=model.name)


def compiled_like(model: keras.Model, twin: keras.Model) -> keras.Model:
    twin.compile(
        optimizer=type(model.optimizer).from_config(model.optimizer.get_config()),
        loss=model.loss,
        metrics=[SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=model.jit_compile,
    )
    return twin


class TorchLoop:
    def __init__(
        self,
        name: str,
        x: np.ndarray,
        y: np.ndarray,
        channels_last: bool,
        device: str,
        fused: bool = False,
        compiled: bool = False,
    ):
        torch.manual_seed(0)
        self.model = ORIGINALS[name](NUM_CLASSES).to(device)
        self.channels_last = channels_last
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        # Training steps go through the compiled module; inference keeps the eager one, as kerasketch's predict does.
        self.train_model = torch.compile(self.model) if compiled else self.model
        self.optimizer = torch_optimizer(name, self.model.parameters(), fused)
        self.criterion = nn.CrossEntropyLoss()
        dataset = torch.utils.data.TensorDataset(
            torch.from_numpy(x[:, None].astype(np.float32) / 255.0), torch.from_numpy(y)
        )
        self.loader = torch.utils.data.DataLoader(dataset, batch_size=64, shuffle=True)
        self.device = device
        self.images = len(y)

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        images = images.to(self.device)
        return images.contiguous(memory_format=torch.channels_last) if self.channels_last else images

    def epoch_rate(self) -> float:
        self.model.train()
        start = time.perf_counter()
        running_loss, correct = 0.0, 0
        for images, labels in self.loader:
            images, labels = self._prepare(images), labels.to(self.device)
            self.optimizer.zero_grad()
            outputs = self.train_model(images)
            loss = self.criterion(outputs, labels)
            loss.backward()
            self.optimizer.step()
            # The original's loop tracks loss and accuracy as it goes.
            running_loss += loss.item()
            correct += (outputs.argmax(1) == labels).sum().item()
        return self.images / (time.perf_counter() - start)

    def inference_rate(self, x: np.ndarray, batch: int) -> float:
        self.model.eval()
        data = torch.from_numpy(x[:, None].astype(np.float32) / 255.0)

        def once() -> None:
            with torch.no_grad():
                for i in range(0, len(data), batch):
                    self.model(self._prepare(data[i : i + batch])).argmax(1)

        once()
        start = time.perf_counter()
        once()
        return len(x) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="like_vgg,baseline,ai_inno_cnn")
    parser.add_argument("--steps", type=int, default=40, help="training steps of batch 64 per timed epoch")
    parser.add_argument("--rounds", type=int, default=5, help="timed epochs per variant, alternated")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--inference-batch", type=int, default=1024)
    parser.add_argument(
        "--no-jit", action="store_true", help="leave out the torch.compile variant (it compiles for a minute per model)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(
        f"machine: {cpu_model()}, {torch.get_num_threads()} torch threads, device {device}; "
        f"torch {torch.__version__}, keras {keras.__version__}"
    )
    print(
        f"batch 64, {args.steps} steps per epoch, {args.rounds} alternated rounds after a warm-up round, {NUM_CLASSES} classes\n"
    )

    rows, ratios, compile_seconds = [], {}, {}
    for name in args.models.split(","):
        size = IMAGE_SIZES[name]
        rng = np.random.default_rng(0)
        x = (rng.random((64 * args.steps, size, size)) * 255).astype(np.uint8)
        y = rng.integers(0, NUM_CLASSES, len(x))
        with tempfile.TemporaryDirectory() as tmp:
            variants = {
                "kerasketch": KerasPath(name, x, y, Path(tmp) / "eager"),
                # The pieces beyond Keras' own execution, each kept where it buys >= 3%: the layer chain
                # (the gap to the plain functional model) and the fused layers (that model's gap to stock).
                NO_CHAIN: KerasPath(name, x, y, Path(tmp) / "plain", chain=False),
                STOCK: KerasPath(name, x, y, Path(tmp) / "stock", stock_layers=True),
                "torch NCHW": TorchLoop(name, x, y, False, device),
                "torch channels_last": TorchLoop(name, x, y, True, device),
            }
            if registry.get(RECIPE_OF[name]).optimizer in ("adam", "adamw"):
                # Beyond the log's loop: the same with torch's fused Adam kernel, which kerasketch's Adam runs.
                variants["torch channels_last, fused Adam"] = TorchLoop(name, x, y, True, device, fused=True)
            if not args.no_jit:
                variants["kerasketch --jit-compile"] = KerasPath(name, x, y, Path(tmp) / "jit", jit_compile=True)
                fused = "torch channels_last, fused Adam" in variants
                variants[TORCH_COMPILE] = TorchLoop(name, x, y, True, device, fused=fused, compiled=True)
            for label, v in variants.items():
                start = time.perf_counter()
                v.epoch_rate()  # warm-up: allocators, oneDNN primitives, Keras' first-call tracing, compiling
                if label.endswith("--jit-compile"):
                    compile_seconds[name] = time.perf_counter() - start
            rates: dict[str, list[float]] = {k: [] for k in variants}
            for _ in range(args.rounds):
                for label, v in variants.items():
                    rates[label].append(v.epoch_rate())
            xi = (rng.random((8 * args.inference_batch, size, size)) * 255).astype(np.uint8)
            infer = {label: v.inference_rate(xi, args.inference_batch) for label, v in variants.items()}
        med = {k: statistics.median(v) for k, v in rates.items()}
        for label in variants:
            rows.append((name, label, med[label], min(rates[label]), max(rates[label]), infer[label]))
        ratios[name] = (
            med["kerasketch"] / med["torch NCHW"],
            med["kerasketch"] / med["torch channels_last"],
            infer["kerasketch"] / infer["torch NCHW"],
            med.get("kerasketch --jit-compile", float("nan")) / med["torch NCHW"],
            med["kerasketch"] / med.get("torch channels_last, fused Adam", float("nan")),
            # Against the best eager PyTorch loop: channels_last, with the fused Adam where the recipe uses Adam.
            med["kerasketch"] / max(med["torch channels_last"], med.get("torch channels_last, fused Adam", 0.0)),
            med.get("kerasketch --jit-compile", float("nan")) / med.get(TORCH_COMPILE, float("nan")),
            med[NO_CHAIN] / med[STOCK],
            med["kerasketch"] / med[NO_CHAIN],
        )

    print(f"| model | path | train img/s (median) | min | max | inference img/s (batch {args.inference_batch}) |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for name, label, med_, lo, hi, inf in rows:
        print(f"| {name} | {label} | {med_:,.0f} | {lo:,.0f} | {hi:,.0f} | {inf:,.0f} |")
    print(
        "\n| model | kerasketch / torch NCHW | kerasketch / torch channels_last | kerasketch / channels_last + fused Adam | kerasketch / best eager loop | inference kerasketch / torch NCHW | --jit-compile / torch NCHW | --jit-compile / torch.compile | compiling epoch (s) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, (a, b, c, d, e, best, jit, _, _) in ratios.items():
        seconds = compile_seconds.get(name, float("nan"))
        print(f"| {name} | {a:.2f} | {b:.2f} | {e:.2f} | {best:.2f} | {c:.2f} | {d:.2f} | {jit:.2f} | {seconds:.0f} |")
    pairs = []
    if "like_vgg" in ratios:
        pairs += [f"keras_vs_torch={ratios['like_vgg'][0]:.3f}", f"keras_vs_torch_cl={ratios['like_vgg'][1]:.3f}"]
    pairs += [f"{name}_vs_torch={r[0]:.3f}" for name, r in ratios.items() if name != "like_vgg"]
    if "like_vgg" in ratios and not args.no_jit:
        pairs.append(f"keras_jit_vs_torch={ratios['like_vgg'][3]:.3f}")
    # The targets (docs: Results): like_vgg against the best eager loop, the baseline against channels_last,
    # and --jit-compile against torch.compile of the same model and loop.
    if "like_vgg" in ratios:
        pairs.append(f"like_vgg_vs_torch_best={ratios['like_vgg'][5]:.3f}")
    if "baseline" in ratios:
        pairs.append(f"baseline_vs_torch_cl={ratios['baseline'][1]:.3f}")
    pairs += [f"{name}_fused_layers_gain={r[7]:.3f}" for name, r in ratios.items()]
    pairs += [f"{name}_layer_chain_gain={r[8]:.3f}" for name, r in ratios.items()]
    if not args.no_jit and ratios:
        first = "like_vgg" if "like_vgg" in ratios else next(iter(ratios))
        pairs.append(f"jit_vs_torch_compile={ratios[first][6]:.3f}")
    print("\n" + " ".join(pairs))


if __name__ == "__main__":
    main()

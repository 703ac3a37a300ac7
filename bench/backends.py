"""Training throughput of a recipe on each Keras backend, measured side by side.

A backend is fixed per process, so one worker per backend builds exactly what
a run trains (compile_model + plan_fit: the Batches input, Keras' callbacks,
our events callback, model.fit), trains a warm-up epoch (JAX compiles with
XLA there), and then trains one epoch each time the parent asks. The parent
alternates the workers round by round (torch jax tensorflow torch ...) so
that the machine's noise hits them alike, and prints the medians.

    python bench/backends.py                           # like_vgg_adamw, 5 rounds
    python bench/backends.py --recipe baseline --rounds 7 --backends torch,jax

The last line holds the figures as name=value pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_WORKER = r"""
import json, sys, tempfile, time
from pathlib import Path
import numpy as np
import kerasketch, keras
from kerasketch.runs.eventlog import EventSink
from kerasketch.recipes import registry
from kerasketch.training.backend import describe
from kerasketch.training.fit import compile_model, plan_fit

recipe, steps, classes = registry.get(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
size = recipe.image_size
rng = np.random.default_rng(0)
n = steps * recipe.batch_size
x = (rng.random((n, size, size)) * 255).astype(np.uint8)
y = rng.integers(0, classes, n)
model = compile_model(recipe, classes, seed=0)
timer = type("StepTimer", (keras.callbacks.Callback,), {
    "on_epoch_begin": lambda self, epoch, logs=None: setattr(self, "start", time.perf_counter()),
    "on_train_batch_end": lambda self, batch, logs=None: setattr(self, "end", time.perf_counter()),
})()
with tempfile.TemporaryDirectory() as workdir:
    plan = plan_fit(recipe, x, y, x[:256], y[:256], run_dir=Path(workdir), sink=EventSink(), name="bench", seed=0)
    callbacks = [timer, *plan.callbacks]
    epoch = 0
    def one_epoch():
        global epoch
        model.fit(plan.train, validation_data=plan.val, epochs=epoch + 1, initial_epoch=epoch, callbacks=callbacks,
                  verbose=0, shuffle=False)
        epoch += 1
        return n / (timer.end - timer.start)
    start = time.perf_counter()
    one_epoch()  # warm-up: XLA's compile on JAX, tracing on TensorFlow
    print(json.dumps({"ready": describe(), "warmup_s": time.perf_counter() - start, "jit": str(model.jit_compile)}), flush=True)
    for line in sys.stdin:
        print(json.dumps({"img_s": one_epoch()}), flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="like_vgg_adamw")
    parser.add_argument("--backends", default="torch,jax,tensorflow")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=40, help="training steps per epoch")
    parser.add_argument("--classes", type=int, default=200)
    args = parser.parse_args()
    backends = args.backends.split(",")

    workers = {}
    for backend in backends:
        env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT)}
        workers[backend] = subprocess.Popen(
            [sys.executable, "-c", _WORKER, args.recipe, str(args.steps), str(args.classes)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        # One at a time: warm-ups running together would slow each other's compiles.
        ready = json.loads(workers[backend].stdout.readline())
        info = ready["ready"]
        print(
            f"{backend}: {info['backend']} {info['version']} on {info['device']}, jit_compile {ready['jit']}, "
            f"warm-up epoch {ready['warmup_s']:.1f} s",
            flush=True,
        )

    figures: dict[str, list[float]] = {b: [] for b in backends}
    for round_ in range(args.rounds):
        for backend, worker in workers.items():
            assert worker.stdin is not None and worker.stdout is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
            figures[backend].append(json.loads(worker.stdout.readline())["img_s"])
        print(f"round {round_ + 1}: " + "  ".join(f"{b} {figures[b][-1]:,.0f}" for b in backends), flush=True)
    for worker in workers.values():
        assert worker.stdin is not None
        worker.stdin.close()
        worker.wait(timeout=120)

    medians = {b: statistics.median(v) for b, v in figures.items()}
    print(
        f"\n{args.recipe}, batch 64, {args.classes} classes, {args.steps} steps per epoch, median of {args.rounds} rounds:"
    )
    for b in backends:
        print(f"  {b:<11} {medians[b]:>8,.0f} img/s  ({medians[b] / medians[backends[0]]:.2f}x {backends[0]})")
    print(" ".join(f"{b}_img_s={medians[b]:.0f}" for b in backends))


if __name__ == "__main__":
    main()

"""Experiment 1, Baseline: a LeNet-like CNN, cross-entropy, plain SGD.

conv5-6, pool, conv5-16, pool, FC 256, FC classes on 28x28 images, PyTorch's
default initialisation, SGD(lr=0.01). The log lists epochs=10 but reports its
best validation accuracy at epoch 17; we train like the others (up to 100
epochs, early stopping with patience 7).
"""

from kerasketch.recipes.base import Original, Recipe

RECIPE = Recipe(
    name="baseline",
    model="baseline",
    loss="cross_entropy",
    optimizer="sgd",
    image_size=28,
    original=Original(1, "Baseline", "CEL", "SGD", 0.4788, 17),
)

if __name__ == "__main__":
    from kerasketch.cli.run import main  # the command line sits above the recipes: only when run

    raise SystemExit(main(RECIPE))

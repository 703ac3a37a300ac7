"""Experiment 4, TS_CNN from "Hand drawn sketch classification using CNNs", SGD with momentum.

As the log implements it on 32x32 images, with SGD(lr=0.001, momentum=0.9,
weight_decay=5e-4); PyTorch's coupled weight decay is an L2 penalty of
2.5e-4 on every weight and bias here. The log's network ends in a
num_classes x 2 x 2 map flattened into 4 x num_classes logits and is trained
against labels 0..num_classes-1: a defect, kept by default because it is what
produced the original's result. ``--ts-cnn-head global_pool``
gives the corrected num_classes-logit head.
"""

from kerasketch.recipes.base import Original, Recipe

RECIPE = Recipe(
    name="ts_cnn",
    model="ts_cnn",
    loss="cross_entropy",
    optimizer="sgd",
    optimizer_settings={"learning_rate": 0.001, "momentum": 0.9},
    l2=2.5e-4,
    image_size=32,
    model_options={"ts_cnn_head": "flatten"},
    original=Original(4, "TS_CNN", "CEL", "SGD", 0.5644, 17),
)

if __name__ == "__main__":
    from kerasketch.cli.run import main  # the command line sits above the recipes: only when run

    raise SystemExit(main(RECIPE))

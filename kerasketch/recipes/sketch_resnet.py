"""Ours, sketch_resnet: a small residual CNN with augmentation, label smoothing and a cosine schedule.

Not one of the log's experiments (it has no original result): the tenth
recipe, built to beat like_vgg_adamw on real drawings from Keras' own parts.
Three stages of basic residual blocks with squeeze-and-excitation (32, 64,
128 channels, one block each), global average pooling, dropout 0.2;
random rotation, zoom and translation in the training step; cross-entropy
with label smoothing 0.1; AdamW (lr 0.002, weight decay 0.05) warming up
over 2 epochs, then a cosine decay to 0 over 20 epochs. Early stopping and
the best-val_accuracy checkpoint are the other recipes'. After training, the
best model's BatchNorm statistics are recomputed on the training drawings
without augmentation (``precise_bn``, the ``--precise-bn`` of every recipe),
which every run measured so far gained from.

Sized for a 2-core CPU: one block per stage and 20 epochs (its training time
and the ablation behind it are in docs/results/ablation.md);
``--set blocks=2 --epochs 30`` is the larger variant for a GPU.
"""

from kerasketch.recipes.base import Recipe

RECIPE = Recipe(
    name="sketch_resnet",
    model="sketch_resnet",
    loss="cross_entropy",
    optimizer="adamw",
    image_size=28,
    original=None,
    optimizer_settings={"learning_rate": 0.002, "weight_decay": 0.05},
    epochs=20,
    patience=10,
    model_options={"width": 32, "blocks": 1, "se_ratio": 0.25, "dropout": 0.2},
    label_smoothing=0.1,
    schedule="cosine",
    warmup_epochs=2,
    augmentation={"rotation": 0.03, "zoom": 0.1, "translation": 0.06},
    precise_bn=True,
)

if __name__ == "__main__":
    from kerasketch.cli.run import main  # the command line sits above the recipes: only when run

    raise SystemExit(main(RECIPE))

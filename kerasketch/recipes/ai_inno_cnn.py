"""Experiment 9, AI_Inno_CNN: five convolutions, batch norm, global average pooling, Adam.

On 32x32 images with He-uniform initialisation and Adam(lr=0.001). The log's
prose says the global average pooling was dropped, but its code applies
``adaptive_avg_pool2d(x, (1, 1))`` before the 256-input classifier; we follow
the code, which is what the parameter count (517,264) describes.
"""

from kerasketch.recipes.base import Original, Recipe

RECIPE = Recipe(
    name="ai_inno_cnn",
    model="ai_inno_cnn",
    loss="cross_entropy",
    optimizer="adam",
    image_size=32,
    original=Original(9, "AI_Inno_CNN", "CEL", "Adam", 0.6100, 7),
)

if __name__ == "__main__":
    from kerasketch.cli.run import main  # the command line sits above the recipes: only when run

    raise SystemExit(main(RECIPE))

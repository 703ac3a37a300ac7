"""Experiment 5, Like_VGG: two VGG-style blocks with batch norm, cross-entropy, Adam.

Two blocks of two conv3-BN-ReLU and a 2x2 pool (32, 64 channels), FC 1024,
FC classes on 28x28 images, He-uniform initialisation, Adam(lr=0.001). The
focal, RMSprop and AdamW recipes are variants of this one.
"""

from kerasketch.recipes.base import Original, Recipe

RECIPE = Recipe(
    name="like_vgg",
    model="like_vgg",
    loss="cross_entropy",
    optimizer="adam",
    image_size=28,
    original=Original(5, "Like_VGG", "CEL", "Adam", 0.6230, 5),
)

if __name__ == "__main__":
    from kerasketch.cli.run import main  # the command line sits above the recipes: only when run

    raise SystemExit(main(RECIPE))

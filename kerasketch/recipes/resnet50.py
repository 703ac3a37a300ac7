"""Experiment 3, ResNet50 (ImageNet-pretrained): frozen backbone, a new trainable ``fc``, Adam.

torchvision's resnet50, all parameters frozen, ``fc`` replaced by a trainable
Linear(2048, num_classes), Adam(lr=0.001). Input 32x32, grey replicated to
three channels, ImageNet-normalised.
"""

from kerasketch.recipes.base import Original, Recipe

RECIPE = Recipe(
    name="resnet50",
    model="resnet50",
    loss="cross_entropy",
    optimizer="adam",
    image_size=32,
    weights="imagenet",
    original=Original(3, "ResNet50(pre)", "CEL", "Adam", 0.4719, 20),
)

if __name__ == "__main__":
    from kerasketch.cli.run import main  # the command line sits above the recipes: only when run

    raise SystemExit(main(RECIPE))

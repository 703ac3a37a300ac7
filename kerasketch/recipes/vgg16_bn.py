"""Experiment 2, VGG16_bn (ImageNet-pretrained): frozen features, retrained classifier, Adam.

torchvision's vgg16_bn with every parameter frozen, the last classifier layer
replaced by one with ``num_classes`` outputs and the whole classifier made
trainable again, Adam(lr=0.001). The log does not give the input size; 32x32
grey drawings are replicated to three channels and ImageNet-normalised. The
slowest recipe by far on a CPU: use a GPU or ``--max-per-class``.
"""

from kerasketch.recipes.base import Original, Recipe

RECIPE = Recipe(
    name="vgg16_bn",
    model="vgg16_bn",
    loss="cross_entropy",
    optimizer="adam",
    image_size=32,
    weights="imagenet",
    original=Original(2, "VGG16_bn(pre)", "CEL", "Adam", 0.5461, 4),
)

if __name__ == "__main__":
    from kerasketch.cli.run import main  # the command line sits above the recipes: only when run

    raise SystemExit(main(RECIPE))

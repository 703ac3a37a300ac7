"""Experiment 7, Like_VGG with RMSprop(lr=0.001) and PyTorch's rho 0.99."""

from kerasketch.recipes.base import Original
from kerasketch.recipes.like_vgg import RECIPE as LIKE_VGG

RECIPE = LIKE_VGG.with_(
    name="like_vgg_rmsprop",
    optimizer="rmsprop",
    original=Original(7, "Like_VGG(with RMSprop)", "CEL", "RMSprop", 0.6163, 6),
)

if __name__ == "__main__":
    from kerasketch.cli.run import main  # the command line sits above the recipes: only when run

    raise SystemExit(main(RECIPE))

"""Experiment 7, Like_VGG with RMSprop(lr=0.001) and PyTorch's rho 0.99.

The original reached 0.6163 at epoch 6.
"""

from kerasketch.recipes.base import Original
from kerasketch.recipes.like_vgg import RECIPE as LIKE_VGG
from kerasketch.recipes.main import main

RECIPE = LIKE_VGG.with_(
    name="like_vgg_rmsprop",
    optimizer="rmsprop",
    original=Original(7, "Like_VGG(with RMSprop)", "CEL", "RMSprop", 0.6163, 6),
)

if __name__ == "__main__":
    raise SystemExit(main(RECIPE))

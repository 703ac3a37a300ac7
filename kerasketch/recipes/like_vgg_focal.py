"""Experiment 6, Like_VGG with focal loss (alpha 0.25, gamma 2, summed), Adam.

The log's focal loss is a sigmoid focal loss on one-hot targets, summed over
classes and batch, meant to counter the class imbalance. The original scored
below plain cross-entropy; ``eval.json``'s per-class accuracy and support say
whether imbalance was the problem.
"""

from kerasketch.recipes.base import Original
from kerasketch.recipes.like_vgg import RECIPE as LIKE_VGG

RECIPE = LIKE_VGG.with_(
    name="like_vgg_focal",
    loss="focal",
    original=Original(6, "Like_VGG(with Focal Loss)", "Focal Loss", "Adam", 0.6079, 6),
)

if __name__ == "__main__":
    from kerasketch.cli.run import main  # the command line sits above the recipes: only when run

    raise SystemExit(main(RECIPE))

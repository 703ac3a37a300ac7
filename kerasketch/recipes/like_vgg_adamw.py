"""Experiment 8, Like_VGG with AdamW(lr=0.001, weight_decay=0.01): the original's best.

The best of the log's nine, on 200 random classes at 1/100. This is the main
job: with no ``--data`` and nothing downloaded it trains on the
built-in synthetic set in a few minutes, to show the whole path end to end.
"""

from kerasketch.recipes.base import Original
from kerasketch.recipes.like_vgg import RECIPE as LIKE_VGG

RECIPE = LIKE_VGG.with_(
    name="like_vgg_adamw",
    optimizer="adamw",
    original=Original(8, "Like_VGG(with AdamW)", "CEL", "AdamW", 0.6267, 7),
)

if __name__ == "__main__":
    from kerasketch.cli.run import main  # the command line sits above the recipes: only when run

    raise SystemExit(main(RECIPE))

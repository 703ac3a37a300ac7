"""The recipe table that ``kerasketch list`` prints and the dashboard shows."""

from __future__ import annotations

import importlib
from typing import Any

from . import registry
from .param_counts import param_counts


def recipe_rows(num_classes: int = 200) -> list[dict[str, Any]]:
    """One row per recipe, from data alone: nothing here imports Keras or torch."""
    rows = []
    for recipe in registry.all_recipes():
        trainable, total = param_counts(recipe.model, num_classes)
        o = recipe.original  # None for a recipe of ours: its original_* fields are None
        doc = (importlib.import_module(f"kerasketch.recipes.{recipe.name}").__doc__ or "").strip()
        rows.append(
            {
                "name": recipe.name,
                "title": o.title if o else f"{recipe.name} (ours)",
                "summary": doc.splitlines()[0] if doc else "",
                "model": recipe.model,
                "loss": recipe.loss,
                "optimizer": recipe.optimizer,
                # The recipe's changes to the optimiser's original settings (kerasketch.optimizers), as in config.json.
                "optimizer_settings": recipe.optimizer_settings,
                "l2": recipe.l2,
                "image_size": recipe.image_size,
                "batch_size": recipe.batch_size,
                "epochs": recipe.epochs,
                "patience": recipe.patience,
                "weights": recipe.weights,
                "num_classes": num_classes,
                "trainable_params": trainable,
                "total_params": total,
                "original_val_acc": o.val_acc if o else None,
                "original_best_epoch": o.best_epoch if o else None,
                "original_loss": o.loss if o else None,
                "original_optimizer": o.optimizer if o else None,
            }
        )
    return rows

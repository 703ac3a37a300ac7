"""Several runs' models as one classifier: the mean of their softmax probabilities, each optionally under TTA.

:class:`Averaged` stands where one run's :class:`~kerasketch.inference.model.TrainedModel`
does for prediction and evaluation (classes, image size, probabilities); its
"logits" are the log of the averaged probabilities, whose softmax is that
average, so every consumer of logits (the evaluation's tally, the top-K, an
export) reads the same classifier. One member without TTA is that run's
model exactly; one member with TTA is ``--tta`` on a run.

:func:`ensemble_model` builds the same average as one Keras functional model
(the members' networks side by side, a softmax on each, their mean, its log):
``kerasketch ensemble ... export`` saves it in a folder that every command
taking a run folder reads (``predict``, ``serve``, ``evaluate``, ``export``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .model import TrainedModel, load_trained, softmax_classes
from .tta import IDENTITY, View, averaged_probabilities

#: The smallest probability the log takes: float32's, so that a class no member gives any chance stays finite.
FLOOR = float(np.finfo(np.float32).tiny)


@dataclass
class Averaged:
    """The mean probabilities of ``members`` (runs of the same classes and input size), each over ``views``."""

    members: list[TrainedModel]
    views: tuple[View, ...] = (IDENTITY,)
    batch_size: int = 256
    classes: list[str] = field(init=False)
    image_size: int = field(init=False)

    def __post_init__(self) -> None:
        if not self.members:
            raise ConfigError("an ensemble needs at least one run")
        check_compatible(self.members)
        self.classes = list(self.members[0].classes)
        self.image_size = self.members[0].image_size

    @property
    def run_dir(self) -> Path:
        return self.members[0].run_dir

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(k, classes) probabilities of (k, S, S) bitmaps."""
        n = len(self.classes)
        total = np.zeros((len(images), n), np.float64)
        for member in self.members:

            def of(x: np.ndarray, member: TrainedModel = member) -> np.ndarray:
                return softmax_classes(member.logits(x, self.batch_size), n)

            total += averaged_probabilities(of, images, self.views)
        return total / len(self.members)

    def logits(self, images: np.ndarray) -> np.ndarray:
        """The log of :meth:`probabilities`: logits whose softmax is the average."""
        return np.log(np.maximum(self.probabilities(images), FLOOR)).astype(np.float32)


def check_compatible(members: Sequence[TrainedModel]) -> None:
    """One message where the runs do not classify the same classes, in order, from the same input size."""
    first = members[0]
    for other in members[1:]:
        if other.image_size != first.image_size:
            raise ConfigError(
                f"{other.run_dir.name} takes {other.image_size}x{other.image_size} images, "
                f"{first.run_dir.name} {first.image_size}x{first.image_size}: an ensemble's models share one input",
                "ensemble runs of the same --image-size",
            )
        if other.classes != first.classes:
            missing = [c for c in first.classes if c not in other.classes]
            extra = [c for c in other.classes if c not in first.classes]
            why = (
                f"{len(missing)} of {first.run_dir.name}'s classes are not its ({', '.join(missing[:3])}...)"
                if missing
                else f"it has {len(extra)} classes more ({', '.join(extra[:3])}...)"
                if extra
                else "the same classes in another order"
            )
            raise ConfigError(
                f"{other.run_dir.name} does not classify the classes {first.run_dir.name} does: {why}",
                "ensemble runs trained on the same classes (config.json's class_names)",
            )


def load_members(runs: Sequence[str | Path]) -> list[TrainedModel]:
    """The runs' best models, checked to be compatible (:func:`check_compatible`)."""
    if not runs:
        raise ConfigError("give at least one run folder")
    members = [load_trained(run) for run in runs]
    check_compatible(members)
    return members


def ensemble_model(members: Sequence[TrainedModel], name: str = "ensemble") -> Any:
    """One Keras functional model: image -> log(mean of the members' softmax over their classes).

    The members' layers are copied into its graph (not nested as models), under names prefixed by the
    member's number, so that torch's ONNX exporter, which traces the weights of nested models as
    constants, exports it like a run's model."""
    import keras

    from ..training.callbacks import inference_model

    size, n = members[0].image_size, len(members[0].classes)
    image = keras.Input(shape=(1, size, size), name="image")
    probabilities = []
    for i, member in enumerate(members):
        # As best.keras holds a run's model: stock Keras layers where they can be (models/stock.py).
        network = inference_model(member.model)
        p = keras.layers.Softmax(name=f"softmax_{i}")(inline(network, image, f"m{i}_"))
        probabilities.append(p[:, :n] if p.shape[-1] != n else p)  # ts_cnn's flatten head: logits beyond the classes
    mean = probabilities[0] if len(probabilities) == 1 else keras.layers.Average(name="mean")(probabilities)
    # Keras operations, not a custom layer: the file loads in plain Keras.
    return keras.Model(image, keras.ops.log(keras.ops.maximum(mean, FLOOR)), name=name)


def shared_data(members: Sequence[TrainedModel]) -> dict[str, Any] | None:
    """The data settings every member trained with (config.json's ``data``), or None where they differ:
    the test split depends on them (the seed draws it), so only then is it held out from every member."""
    from ..runs import folders

    records = [folders.read_config(m.run_dir).get("data") for m in members]
    first = records[0]
    return first if isinstance(first, dict) and all(r == first for r in records[1:]) else None


def write_ensemble(members: Sequence[TrainedModel], out: Path) -> dict[str, Any]:
    """The ensemble as a folder every command taking a run folder reads: ``best.keras`` (:func:`ensemble_model`)
    and a ``config.json`` naming its classes, input size, members and (where they share it) their data."""
    import os

    from ..runs import folders
    from ..runs.events import utc_now
    from ..runs.jsonfile import write_json_atomically

    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} exists and is not empty", "give -o a new folder")
    out.mkdir(parents=True, exist_ok=True)
    model = ensemble_model(members, name=out.name.replace(" ", "_") or "ensemble")
    partial = out / f".{folders.BEST}.partial.keras"
    model.save(partial)
    os.replace(partial, out / folders.BEST)
    data = shared_data(members)
    first = folders.read_config(members[0].run_dir)
    config: dict[str, Any] = {
        "format_version": folders.FORMAT_VERSION,
        "kind": "ensemble",
        "recipe": {"name": "ensemble", "model": "ensemble", "image_size": members[0].image_size},
        "class_names": list(members[0].classes),
        "members": [
            {
                "run": str(m.run_dir.resolve()),
                "recipe": m.recipe.get("name"),
                "test_accuracy": ((folders.read_evaluation(m.run_dir) or {}).get("test") or {}).get("accuracy"),
            }
            for m in members
        ],
        "created": utc_now(),
    }
    if data is not None:
        config["data"] = data
        config["dataset"] = first.get("dataset")
    write_json_atomically(out / folders.CONFIG, config)
    return config


def inline(network: Any, image: Any, prefix: str) -> Any:
    """``network``'s output on ``image``, through copies of its layers (named ``prefix`` + theirs, holding their
    weights) in the graph of ``image`` itself."""
    import keras

    def renamed(layer: Any) -> Any:
        return layer.__class__.from_config({**layer.get_config(), "name": prefix + layer.name})

    copy = keras.models.clone_model(network, input_tensors=[image], clone_function=renamed)
    for new, old in zip(copy.layers, network.layers, strict=True):
        new.set_weights(old.get_weights())
    return copy.outputs[0]

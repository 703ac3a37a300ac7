"""Experiment trackers (MLflow, TensorBoard, Weights & Biases) as exports of run folders.

The run folder stays the source of truth: :mod:`.record` reads one into what
every tracker is sent, each tracker's module sends it with that tracker's own
library, :mod:`.export` does so after the fact (``kerasketch runs export``)
and :mod:`.live` while a run trains (``--track``), off the training thread.
"""

"""``kerasketch sweep``: hyperparameter search on Ray Tune, on one machine or a Ray cluster.

:mod:`.space` reads the search space (no Ray needed), :mod:`.trial` is what
runs on a Ray worker (one ordinary run folder per trial), :mod:`.tune` the
driver: Ray Tune with Optuna's TPE or random search and ASHA, ``sweep.json``
(:mod:`kerasketch.runs.sweepfile`) and the closing table. Ray and Optuna
are the optional extra ``kerasketch[sweep]``; only :mod:`.tune` and
:mod:`.trial` import them, and only when a sweep starts.
"""

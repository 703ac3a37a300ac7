"""The terminal dashboard: ``kerasketch-tui``.

Launches recipes as child processes, watches their JSON-lines events
(:mod:`kerasketch.runs.events`), and browses the run folders of a runs directory.
Nothing here imports Keras or torch: the dashboard starts in a fraction of a
second and a crash in training never reaches it.
"""

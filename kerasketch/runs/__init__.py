"""The run-folder protocol: what a run folder and a sweep folder hold, written and read.

One module per role, depended on by training, the command line, reports,
sweeps, trackers and the dashboard, and depending on none of them (an
import-linter contract in ``pyproject.toml`` says so):

- :mod:`.schema`: JSON read from disk checked against the types that describe it
- :mod:`.documents`: ``config.json`` and ``eval.json`` as types
- :mod:`.events`: the event kinds, the statuses, one event's line made and parsed
- :mod:`.eventlog`: ``events.jsonl`` (and the ``--events`` stream) read and written
- :mod:`.state`: the one fold of events into what is known about a run
- :mod:`.folders`: a run folder's files, its naming, loading, listing and resume lookup
- :mod:`.jsonfile`: JSON files written atomically and read checked
- :mod:`.processes`: whether the process that writes a folder still runs
- :mod:`.confusion`: ``confusion.csv``
- :mod:`.sweepfile`: a sweep folder's ``sweep.json``
- :mod:`.storage`: file-system faults under the runs folder, and the partial files they leave
"""

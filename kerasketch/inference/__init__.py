"""Using a trained run: predictions on new drawings and images, exports, and a long-lived classifier.

``images.py``      image files to bitmaps like the official ones (Pillow)
``inputs.py``      the files ``kerasketch predict`` reads, through the data readers
``model.py``       a run's ``best.keras`` with its classes and input size
``predict.py``     top-K predictions and the accuracy where files name their class
``export.py``      ONNX, OpenVINO, ``.pt2`` and plain-Keras exports (the stock-layer copy: ``models/stock.py``)
``agreement.py``   an export against the Keras model on the run's test split
``runtimes.py``    a run or an export, loaded to give class probabilities (what ``kerasketch serve`` runs)
``benchmark.py``   ``kerasketch benchmark``: each format's size, load time, latency, throughput, agreement
``jsonl_child.py`` the JSON-lines classifier the dashboard talks to (``predict --serve``); the HTTP
                   service is :mod:`kerasketch.serving`
"""

"""Using a trained run: predictions on new drawings and images, exports, and a long-lived classifier.

``images.py``  image files to bitmaps like the official ones (Pillow)
``inputs.py``  the files ``kerasketch predict`` reads, through the data readers
``model.py``   a run's ``best.keras`` with its classes and input size
``predict.py`` top-K predictions and the accuracy where files name their class
``export.py``  ONNX and plain-Keras exports; ``stock.py`` the stock-layer copy
``serve.py``   the JSON-lines classifier a dashboard talks to
"""

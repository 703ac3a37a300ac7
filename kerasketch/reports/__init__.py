"""``kerasketch report``: figures, CSV and an HTML page to keep, made from run folders.

Above :mod:`kerasketch.training` in the layering and headless: matplotlib
with its Agg backend, no Textual, so the dashboard can run it in a child
process.
"""

import matplotlib

# No display: reports are made headless, on servers and in the dashboard's child process.
matplotlib.use("Agg")

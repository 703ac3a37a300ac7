"""The nine experiments of the original log, one module each.

``python -m kerasketch.recipes.<name>`` runs one; :mod:`.registry` lists them
for the command line and the dashboard. Recipe modules are imported on
demand, so that running one as ``__main__`` does not import it twice.
"""

"""The dashboard's screens: the overview, a run, its confusion matrix, and the modals."""

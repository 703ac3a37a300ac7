"""Training, run folders and evaluation: what a recipe does when it runs."""

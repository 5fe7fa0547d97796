"""Reference implementations of latent-reasoning methods and the harness that compares them.

Install with the harness extra (`pip install -e .[harness]`); nothing here is needed to browse
the catalog or build the site.
"""

"""The site generator: turns the catalog, the baselines and the results into MkDocs pages.

- inputs.py: everything the site is generated from (catalog, methods, tasks, results,
  benchmarks), gathered in one `Inputs` object that tests build from fixtures;
- model.py: what the pages show, computed once from the inputs;
- results.py, charts.py, text.py: results summaries, inline SVG charts, escaping;
- pages.py: renders the jinja2 templates of site/templates;
- build.py: the MkDocs event handlers; site/hooks.py only binds them.

Nothing here imports torch.
"""

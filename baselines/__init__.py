"""Reference implementations of latent-reasoning methods and the harness that compares them.

Install with the harness extra (`pip install -e .[harness]`); nothing here is needed to browse
the catalog or build the site, except the torch-free modules the site reads (registry.py,
results.py, format.py).

The modules, bottom up (a module imports only from its floor or below: tests/baselines/test_layers.py):
  format.py        the text format: Example, answer marker, special tokens, answer extraction
  data.py          where task data comes from (data directory, official files, sha256, options)
  registry.py      methods, variants, knobs and tasks, read from their files without importing them
  results.py       the Result schema; writing, reading, indexing, validating, aggregating results
  batching.py      training batches (collate) and the deterministic order of training examples
  tasks/           one file per task (tasks/base.py: the Task interface)
  tokenizer.py     word-level and GPT-2 tokenizers
  models/          our model stack: models/gpt.py, the GPT every method builds on (KV cache,
                   training and generation passes, GPT-2 weights by mapping)
  backbone.py      the size presets and the backbone a run starts from (from scratch, or a local
                   GPT-2 checkpoint);  generation.py: batched greedy decoding (one loop)
  methods/         one file per method (methods/base.py: the Method interface); methods/engines/:
                   the token-level and the continuous-thought engines several methods share
  splits.py        a run's three splits, their provenance and the vocabulary's texts
  selection.py     model selection on the validation split
  suites.py        what a run is (RunSpec) and the named suites
  harness.py       the only place that trains and evaluates
"""

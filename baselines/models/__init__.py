"""The model stack: `gpt.py` (our GPT with the hooks every family needs), plus one file per
architecture that needs a module of its own (recurrent depth, linear-state recurrence, ...)."""

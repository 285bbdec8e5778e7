"""The only code that touches LLaMA-Factory internals: activation (plugin), recipe keys (args), the data
columns (columns, scoring, collators), the trainers, the version guard (compat) and `polyalign doctor`.
Nothing here is imported unless LLaMA-Factory's tuner is imported or `polyalign doctor` runs."""

"""The patches for LLaMA-Factory's v0 training path (0.9.x and main's ``llamafactory.train.tuner``): the stage
registry and scoped swaps (``plugin``), the dataset columns (``columns``), splits and example weights (``splits``,
``example_weights``), critic scoring at load time (``scoring``), collators, the Bucket-SFT and HDPO trainers and LlamaBoard
(``webui``). Everything here may touch LLaMA-Factory internals; :mod:`polyalign_lf.integration.plugin` picks it."""

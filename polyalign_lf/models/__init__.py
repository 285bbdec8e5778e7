"""Real pretrained models installed offline from PyPI (GGUF → a verified transformers folder)."""

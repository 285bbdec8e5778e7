"""Generation for evaluation: ``polyalign generate`` (see docs/evaluation.md).

prompts (chat = the LLaMA-Factory training template via :mod:`polyalign_lf.integration.prompting`, base, cot),
decoding (paper Appendix C defaults), engines (``hf`` transformers, ``vllm`` server client) and the resumable
output writer. Heavy libraries are imported inside functions only.
"""

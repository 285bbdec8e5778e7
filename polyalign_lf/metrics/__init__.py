"""The PolyAlign metric suite: ``polyalign evaluate`` (see docs/evaluation.md).

text (en/zh normalisation), utility (EM, nEM, F1, ROUGE-L, distinct-n), bng, mauve_score, embeddings
(``embed_texts``), tdm (Eqs. 13–14), nuf (Eqs. 15–16, hypervolume, Agg) and evaluate (alignment by record id,
the metrics JSON). Heavy libraries are imported inside functions only.
"""

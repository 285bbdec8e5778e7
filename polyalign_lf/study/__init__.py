"""The miniature PolyAlign study: a corpus with known per-bucket human styles, a BaseLM with one global
style, every method through the real pipeline over several seeds, and a report of the paper's claims with
confidence intervals (``polyalign study``)."""

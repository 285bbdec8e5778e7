"""Comparison reports of evaluated runs: Table-2-style Markdown/HTML and figures (BNG, NUF, embedding shifts)."""

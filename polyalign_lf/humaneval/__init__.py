"""Blind human evaluation: a static rating page with a blinded stratified sample, and Table 8 from the ratings."""

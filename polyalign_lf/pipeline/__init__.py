"""The whole PolyAlign pipeline: the paper's grid of recipes (:mod:`.recipes`), the stage plan of one cell
(:mod:`.plan`), a resumable stage runner (:mod:`.stages`), ``polyalign run`` / ``polyalign demo``
(:mod:`.cli`) and the demo's bilingual sample data (``sample_data/``)."""

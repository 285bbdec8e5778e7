"""Dolly-15k (``databricks/databricks-dolly-15k``): human-written assistant responses, English.

Columns: ``instruction, context, response, category``. Train-only release → deterministic hashed split
on the canonical instruction + context (so repeated prompts land in one split), 90/5/5.
"""

from __future__ import annotations

from polyalign_lf.data.formatters._util import canonical_group, get_text, short_hash
from polyalign_lf.data.formatters.base import Draft, FormatterSpec, Skip, hashed_split


def convert(rows, split, seed):
    for index, row in enumerate(rows):
        instruction, context, response = (
            get_text(row, "instruction"),
            get_text(row, "context", default=""),
            get_text(row, "response"),
        )
        source_id = f"{split}-{index:06d}"
        if not response.strip():
            yield Skip("empty_answer", source_id)
            continue
        yield Draft(
            source_id=source_id,
            question=instruction,
            context=context,
            human_answer=response,
            split=hashed_split(canonical_group(instruction, context), seed),
            meta={
                "category": get_text(row, "category", default=""),
                "content_hash": short_hash(instruction, response),
            },
        )


FORMATTER = FormatterSpec(
    name="dolly",
    language="en",
    track="single",
    family="assistant",
    style_bucket="assistant_like",
    hub_id="databricks/databricks-dolly-15k",
    source_splits=("train",),
    split_policy="train-only release: hash of canonical instruction+context, 90/5/5 train/val/test",
    convert=convert,
    required_columns=("instruction", "response"),
    aliases=("dolly15k", "dolly_15k"),
    description="Databricks Dolly-15k: human-written instruction responses",
)

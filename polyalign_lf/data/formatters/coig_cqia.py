"""COIG-CQIA (``m-a-p/COIG-CQIA``): curated human-written Chinese instruction data.

Columns: ``instruction, input, output, task_type, domain, metadata, answer_from, human_verified,
copyright``; one Hub config per subset (``prepare --all`` reads the 13 the paper used). Rows whose
``answer_from`` is not ``human`` or whose ``human_verified`` is false are skipped. Train-only release →
hashed split on the canonical instruction + input, 90/5/5.
"""

from __future__ import annotations

from polyalign_lf.data.formatters._util import canonical_group, get_text, short_hash
from polyalign_lf.data.formatters.base import Draft, FormatterSpec, Skip, hashed_split

SUBSETS = (
    "chinese_traditional",
    "coig_pc",
    "douban",
    "exam",
    "finance",
    "human_value",
    "logi_qa",
    "ruozhiba",
    "segmentfault",
    "wiki",
    "wikihow",
    "xhs",
    "zhihu",
)


def convert(rows, split, seed):
    for index, row in enumerate(rows):
        instruction, context, output = (
            get_text(row, "instruction"),
            get_text(row, "input", default=""),
            get_text(row, "output"),
        )
        source_id = f"{split}-{index:06d}-{short_hash(instruction, output)}"
        answer_from = row.get("answer_from")
        if answer_from not in (None, "") and str(answer_from).strip().lower() != "human":
            yield Skip("non_human_answer", source_id)
            continue
        if "human_verified" in row and row["human_verified"] is not None and not row["human_verified"]:
            yield Skip("not_human_verified", source_id)
            continue
        if not output.strip():
            yield Skip("empty_answer", source_id)
            continue
        yield Draft(
            source_id=source_id,
            question=instruction,
            context=context,
            human_answer=output,
            split=hashed_split(canonical_group(instruction, context), seed),
            meta={"subset": get_text(row, "subset", default="")},
        )


FORMATTER = FormatterSpec(
    name="coig_cqia",
    language="zh",
    track="single",
    family="assistant",
    style_bucket="assistant_like",
    hub_id="m-a-p/COIG-CQIA",
    hub_configs=SUBSETS,
    source_splits=("train",),
    split_policy="train-only release: hash of canonical instruction+input, 90/5/5; non-human / unverified answers skipped",
    convert=convert,
    required_columns=("instruction", "output"),
    aliases=("coig", "cqia"),
    description="COIG-CQIA: human-written Chinese instruction responses (13 subsets)",
)

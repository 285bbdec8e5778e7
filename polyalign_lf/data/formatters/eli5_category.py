"""ELI5-Category (``rexarski/eli5_category``): long-form Reddit answers, English.

Columns: ``q_id, title, selftext, category, subreddit, answers{a_id, text, score, text_urls}``.
The answer is the highest-scored non-empty one (first on ties). Official splits: train → train,
validation1 → val, validation2 and test → test (Table 1's 7,786 test rows = 5,411 test + 2,375
validation2).
"""

from __future__ import annotations

from polyalign_lf.data.formatters._util import get_text, struct_values
from polyalign_lf.data.formatters.base import Draft, FormatterSpec, Skip

SPLITS = {"train": "train", "validation1": "val", "validation2": "test", "test": "test"}


def convert(rows, split, seed):
    for row in rows:
        q_id = get_text(row, "q_id")
        title, selftext = get_text(row, "title"), get_text(row, "selftext", default="")
        texts = struct_values(row, "answers", "text")  # Hub: dict of lists; a JSON release: a list of objects
        scores = struct_values(row, "answers", "score") or [0] * len(texts)
        best, best_score = None, None
        for text, score in zip(texts, scores):
            if isinstance(text, str) and text.strip():
                score = score if isinstance(score, (int, float)) else 0
                if best_score is None or score > best_score:
                    best, best_score = text, score
        if best is None:
            yield Skip("empty_answer", q_id)
            continue
        question = title if not selftext.strip() else f"{title}\n\n{selftext}"
        yield Draft(
            source_id=q_id or f"{split}-{title[:40]}",
            question=question,
            human_answer=best,
            split=SPLITS[split],
            meta={
                "category": get_text(row, "category", default=""),
                "subreddit": get_text(row, "subreddit", default=""),
                "num_candidate_answers": len(texts),
                "best_answer_score": best_score,
            },
        )


FORMATTER = FormatterSpec(
    name="eli5_category",
    language="en",
    track="single",
    family="qa",
    style_bucket="longform_qa",
    hub_id="rexarski/eli5_category",
    source_splits=tuple(SPLITS),
    split_policy="official: train→train, validation1→val, validation2+test→test",
    convert=convert,
    required_columns=("q_id", "title", "answers"),
    aliases=("eli5",),
    description="ELI5-Category: best-scored human long-form answer per question",
)

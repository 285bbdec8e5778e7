"""Self-contained Markdown and HTML reports (HTML: inline CSS, figures embedded as data URIs, no network)."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from pathlib import Path

from polyalign_lf.io import atomic_write

CSS = """
body{font:14px/1.5 system-ui,-apple-system,"Segoe UI","Noto Sans",sans-serif;color:#1d2330;background:#f6f7fb;margin:0}
main{max-width:1150px;margin:0 auto;padding:20px 28px 48px}
h1{font-size:24px;margin:8px 0 4px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d9dee8;padding-bottom:4px}
.sub{color:#5b6475;margin:0 0 12px}
table{border-collapse:collapse;background:#fff;border:1px solid #d9dee8;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{padding:5px 10px;border-bottom:1px solid #e6e9f0;text-align:right;white-space:nowrap}
th{background:#eef1f8;font-weight:600} td:first-child,th:first-child{text-align:left}
tr:hover td{background:#f7f9ff} td.skipped{color:#a0a6b2;font-style:italic}
strong{color:#0b3d91} u{text-decoration-color:#2f5bd3;text-decoration-thickness:2px}
figure{background:#fff;border:1px solid #d9dee8;border-radius:8px;padding:10px;margin:12px 0}
figure img{max-width:100%;height:auto;display:block;margin:0 auto} figcaption{color:#5b6475;font-size:13px;margin-top:6px}
ul.notes{color:#5b6475;font-size:13px} code{background:#eef1f8;padding:1px 4px;border-radius:4px}
"""


def _inline(text: str) -> str:
    """Escape, then turn our own **bold**, <u>…</u> and `code` marks back into HTML."""
    out = html.escape(text, quote=False)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"&lt;u&gt;(.+?)&lt;/u&gt;", r"<u>\1</u>", out)
    out = re.sub(r"`(.+?)`", r"<code>\1</code>", out)
    return out


def markdown_to_html(markdown: str) -> str:
    """Convert the simple Markdown this package writes (tables, bullet lists, paragraphs, headings)."""
    blocks: list[str] = []
    lines = markdown.splitlines()
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.startswith("|"):
            rows = []
            while k < len(lines) and lines[k].startswith("|"):
                rows.append([c.strip() for c in lines[k].strip().strip("|").split("|")])
                k += 1
            head, body = rows[0], [r for r in rows[1:] if not all(set(c) <= set("-:") for c in r)]
            parts = ["<table><thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead><tbody>"]
            for row in body:
                parts.append(
                    "<tr>"
                    + "".join(
                        f'<td class="skipped">{_inline(c)}</td>' if c == "skipped" else f"<td>{_inline(c)}</td>"
                        for c in row
                    )
                    + "</tr>"
                )
            blocks.append("".join(parts) + "</tbody></table>")
            continue
        if line.startswith("- "):
            items = []
            while k < len(lines) and lines[k].startswith("- "):
                items.append(f"<li>{_inline(lines[k][2:])}</li>")
                k += 1
            blocks.append('<ul class="notes">' + "".join(items) + "</ul>")
            continue
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            blocks.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
        elif line.strip():
            blocks.append(f"<p>{_inline(line)}</p>")
        k += 1
    return "\n".join(blocks)


def figure_html(path: Path, caption: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def html_document(title: str, markdown_sections: Sequence[str], figures: Sequence[tuple[Path, str]]) -> str:
    body = "\n".join(markdown_to_html(section) for section in markdown_sections)
    figs = "\n".join(figure_html(path, caption) for path, caption in figures)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
        f"<style>{CSS}</style></head><body><main>\n{body}\n"
        + (f"<h2>Figures</h2>\n{figs}\n" if figs else "")
        + "</main></body></html>\n"
    )


def write_report_files(
    markdown_path: Path, title: str, sections: Sequence[str], figures: Sequence[tuple[Path, str]]
) -> None:
    """Write ``sections`` (+ a Figures section) as Markdown to ``markdown_path`` and as a self-contained HTML
    page next to it (same stem, ``.html``), both atomically. Figures are referenced as ``figures/<name>``."""

    text = "\n\n".join(sections) + "\n"
    if figures:
        text += "\n## Figures\n\n" + "".join(f"![{c}](figures/{p.name})\n\n{c}\n\n" for p, c in figures)
    with atomic_write(markdown_path) as handle:
        handle.write(text)
    with atomic_write(markdown_path.with_suffix(".html")) as handle:
        handle.write(html_document(title, sections, figures))

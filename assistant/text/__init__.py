"""Article text by code, no model: intake, segmentation, dates, numbers, attribution,
per-sentence signals, grounding and deterministic checks.

- `intake`: bytes (text, Markdown, HTML; any encoding) to a clean `Document`.
- `segment`: sentences with exact offsets, the grid S1..Sn every citation points into.
- `dates`, `numbers`, `attribution`, `signals`: what each sentence states and who says it.
- `grounding`: sentence ids to exact quotes and offsets; support overlap.
- `checks`: what a text states that a reference does not (names, figures, dates, roles).
"""

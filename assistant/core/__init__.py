"""The engine: prompt templates, validated structured output, the step driver, token
counting, run settings, progress display and shared statistics.

- `prompts`: template files in `prompts/` (front matter, role sections, hashes).
- `structured`: render -> call -> parse -> validate -> re-ask, as an I/O-free exchange.
- `driver`: runs steps (generators that yield model calls) sync or async; plans calls.
- `tokens`, `settings`, `progress`, `stats`.
"""

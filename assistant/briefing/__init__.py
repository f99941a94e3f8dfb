"""Briefing notes: analysed articles merged into what is known, claimed, disputed and
unknown, with what to check next; every statement cites its source's exact words.

- `model`: the `Briefing` data model and its citation checks.
- `notes`: `build_briefing`, pure and deterministic (its docstring holds the rules).
- `match`: the same fact across articles, and whether figures agree.
- `render`: Markdown, self-contained HTML and JSON.
"""

from assistant.briefing.model import (
    CONFIDENCE_SCALE,
    LIKELIHOOD_SCALE,
    LIKELIHOOD_SCALE_NAME,
    MIN_SUPPORT,
    Actor,
    Agreement,
    BlufLine,
    BottomLine,
    Briefing,
    BriefProgress,
    CheckItem,
    Citation,
    ClaimedItem,
    Confidence,
    Dispute,
    KnownItem,
    Likelihood,
    RoleMention,
    ScaleStep,
    Side,
    SourceRef,
    TimelineEntry,
    Unknown,
    VerdictNote,
    iter_citations,
)
from assistant.briefing.notes import build_briefing
from assistant.briefing.render import CSP, FORMATS, to_html, to_json, to_markdown

__all__ = [
    'CONFIDENCE_SCALE',
    "CSP",
    "FORMATS",
    'LIKELIHOOD_SCALE',
    'LIKELIHOOD_SCALE_NAME',
    'MIN_SUPPORT',
    'Actor',
    'Agreement',
    'BlufLine',
    'BottomLine',
    'BriefProgress',
    'Briefing',
    'CheckItem',
    'Citation',
    'ClaimedItem',
    'Confidence',
    'Dispute',
    'KnownItem',
    'Likelihood',
    'RoleMention',
    'ScaleStep',
    'Side',
    'SourceRef',
    'TimelineEntry',
    'Unknown',
    'VerdictNote',
    'build_briefing',
    'iter_citations',
    'to_html',
    'to_json',
    'to_markdown',
]

"""Briefing notes: one or many analysed articles on one event, merged into what is known,
what is only claimed, what is disputed, what is unknown and what to check next.

`build_briefing` is pure and deterministic: no model calls, no clock. Every statement
carries citations (source number, sentence id, the exact words and their offsets), and
`Briefing` refuses to validate when a citation does not match its source's text.

Classification rules (applied to "units": key points, claims, and sentences that state a
figure, an event or someone's words; units of different sources on the same fact are
merged first, see `_brief_match`):

- What we know: key points, claims and event/figure sentences the outlet states in its
  own voice (no speaker, no quotation, no hedge such as "allegedly"), and with evidence,
  claims whose verdict is `supported`. Key points must reach `MIN_SUPPORT` against the
  sentences they cite.
- Claimed but not verified: everything attributed to a speaker (who, their role as the
  article states it, the attribution verb and hedges), most check-worthy first. Where no
  claim rewrote it, the speaker's own sentence is shown: a paraphrase of someone's words
  can swap who accuses whom.
- Disputed: the same fact reported by two sources with different figures (both quotes),
  two sentences of one source that do so, and evidence verdicts `refuted`/`conflicting`.
- What we don't know: 5W questions no source answers, hedged statements, unnamed sources,
  "did not respond"/"declined to comment" sentences, and claims the evidence did not
  settle (`not_enough_evidence`).
- What to check next: verification questions ranked by their claim's check-worthiness
  (claims already settled by evidence with high confidence are left out).
- People and organisations: named speakers with the role as stated, then other names.
- Timeline: absolute dates written in the sources and relative ones resolved against the
  publication date ("last December" -> 2021-12), sorted, each citing its sentence.
- First reported by: the earliest publication date among sources carrying a matched claim.
- Title and bottom line: the first source's own title and lead sentence, verbatim; then the
  best-sourced known item, the first dispute, the most check-worthy claim, the first check.

Confidence and likelihood are separate judgements (see `CONFIDENCE_SCALE` and
`LIKELIHOOD_SCALE`, both printed in every rendering):

- confidence = how well sourced the statement is: high = two or more independent
  sources agree (or evidence settles it with high confidence); moderate = one source in
  its own voice (or evidence with moderate confidence); low = attributed to a single
  speaker, hedged, unnamed, disputed, or evidence with low confidence.
- likelihood = how probable the statement is, in ICD 203 terms: supported by evidence ->
  very likely (likely at low/moderate confidence); refuted -> very unlikely (unlikely);
  conflicting evidence -> roughly even chance; outlet's own voice, corroborated -> very
  likely; outlet's own voice, one source -> likely; attributed or disputed statements
  without evidence -> not assessed (the sources show only that it was claimed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.briefing.model import Briefing
from assistant.schemas import Analysis, Document

if TYPE_CHECKING:
    from assistant.schemas import FactCheckReport


# --------------------------------------------------------------------------- entry point


def build_briefing(analyses: Sequence[tuple[Document, Analysis]],
                   verdicts: Sequence[FactCheckReport] | None = None,
                   evidence: Sequence[Document] = ()) -> Briefing:
    """Merge analysed articles into one grounded `Briefing` (pure, deterministic).

    `verdicts`: fact-check reports, one per article, matched to it by the article's
    doc_id (or by position when a report names no article). `evidence`: the evidence
    documents those reports cite (matched by doc_id); their quotes link into them.
    """
    from assistant.briefing._build import assemble

    return assemble(list(analyses), list(verdicts or []), list(evidence))

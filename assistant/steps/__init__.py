"""The operations, as steps: generators that yield model calls (`CallSpec`/`ProbeSpec`)
and return results, driven sync or async by `assistant.core.driver`.

- `analysis`: summary, claims and verification questions over one article.
- `questions`: verification questions built from the claim and checked by code.
- `faithfulness`: does a summary say only what its article supports.
- `entailment`: P(supported) from the model over short focused premises.
- `evidence`, `factcheck`: evidence documents in, a verdict per claim out.
"""

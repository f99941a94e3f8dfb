"""L2-regularised logistic regression by Newton's method (IRLS), in pure Python.

A handful to a few dozen named features and tens of thousands of rows: rows are kept
sparse (most features are 0/1 flags and most are 0), identical rows are merged with their
weights summed, and the penalty is put on the *standardised* weights
(`l2/2 * sum((w_j * sd_j)^2)`) while the fit runs on the raw values, which keeps the rows
sparse and makes one `l2` mean the same for a count and a flag. The intercept is not
penalised. `class_weight="balanced"` weighs each class by n / (2 n_class), so the
probability is the one under equal priors and 0.5 is the neutral point whatever the base
rate of the training data (2.7 % on CLEF-2019).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, Field

Row = Mapping[str, float]
ClassWeight = Literal["balanced", "none"]


class LogisticFit(BaseModel):
    """A fitted model: weights on the raw feature values, plus the training statistics."""

    features: list[str] = Field(description="Feature names, in weight order.")
    weights: list[float] = Field(description="Weight per feature, on the raw feature scale.")
    intercept: float = Field(description="Log-odds at all-zero features.")
    means: list[float] = Field(description="Training mean of each feature (the baseline of contributions).")
    scales: list[float] = Field(description="Training standard deviation of each feature (1 when constant).")
    l2: float = Field(description="Penalty on the standardised weights.")
    class_weight: ClassWeight = Field(description="balanced: classes weigh equally; none: rows do.")
    iterations: int = Field(description="Newton steps taken.")
    converged: bool = Field(description="The last step moved no weight by more than the tolerance.")

    def logit(self, row: Row) -> float:
        return self.intercept + sum(w * float(row.get(f, 0.0)) for f, w in zip(self.features, self.weights, strict=True))

    def probability(self, row: Row) -> float:
        return sigmoid(self.logit(row))

    def contributions(self, row: Row) -> list[tuple[str, float, float]]:
        """(feature, value, log-odds it adds against the training mean), largest effect first."""
        out = [(f, float(row.get(f, 0.0)), w * (float(row.get(f, 0.0)) - m))
               for f, w, m in zip(self.features, self.weights, self.means, strict=True)]
        return sorted((c for c in out if c[2] != 0.0), key=lambda c: -abs(c[2]))


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the system is small and positive definite)."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-300:
            raise ZeroDivisionError("singular Hessian")
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            if f:
                for c in range(col, n + 1):
                    m[r][c] -= f * m[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


def _merge(rows: Sequence[Row], labels: Sequence[int], features: Sequence[str],
           weights: Sequence[float]) -> list[tuple[tuple[tuple[int, float], ...], int, float]]:
    merged: dict[tuple[tuple[tuple[int, float], ...], int], float] = {}
    for row, y, w in zip(rows, labels, weights, strict=True):
        nz = tuple((j, float(row[f])) for j, f in enumerate(features) if row.get(f))
        merged[(nz, y)] = merged.get((nz, y), 0.0) + w
    return [(nz, y, w) for (nz, y), w in merged.items()]


def fit_logistic(rows: Sequence[Row], labels: Sequence[int], features: Sequence[str], *,
                 l2: float = 0.1, class_weight: ClassWeight = "balanced",
                 max_iter: int = 100, tol: float = 1e-7) -> LogisticFit:
    """Minimise mean weighted log-loss + `l2`/2 * sum((w_j sd_j)^2) over `rows` (a missing
    feature is 0). Without a penalty on separable data the weights grow without bound:
    the fit stops at `max_iter` with `converged=False`."""
    if len(rows) != len(labels) or not rows:
        raise ValueError("need as many labels as rows, and at least one row")
    if any(y not in (0, 1) for y in labels):
        raise ValueError("labels must be 0 or 1")
    features = list(features)
    n, p = len(rows), len(features)
    positives = sum(labels)
    counts = {0: n - positives, 1: positives}
    if class_weight == "balanced" and 0 in counts.values():
        raise ValueError("both classes are needed for balanced class weights")
    row_w = [n / (2 * counts[y]) if class_weight == "balanced" else 1.0 for y in labels]
    means, scales = [], []
    for f in features:
        vals = [float(r.get(f, 0.0)) for r in rows]
        mu = sum(vals) / n
        sd = math.sqrt(sum((v - mu) ** 2 for v in vals) / n)
        means.append(mu)
        scales.append(sd if sd > 1e-12 else 1.0)
    data = _merge(rows, labels, features, row_w)
    total = sum(w for _, _, w in data)
    pen = [l2 * s * s for s in scales]
    beta = [0.0] * (p + 1)  # beta[0] is the intercept

    def objective(b: list[float]) -> float:
        loss = 0.0
        for nz, y, w in data:
            z = b[0] + sum(b[j + 1] * x for j, x in nz)
            # log(1 + e^z) - y z, computed without overflow
            loss += w * ((max(z, 0.0) + math.log1p(math.exp(-abs(z)))) - y * z)
        return loss / total + 0.5 * sum(pen[j] * b[j + 1] ** 2 for j in range(p))

    current = objective(beta)
    iterations, converged = 0, False
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        grad = [0.0] * (p + 1)
        hess = [[0.0] * (p + 1) for _ in range(p + 1)]
        for nz, y, w in data:
            z = beta[0] + sum(beta[j + 1] * x for j, x in nz)
            mu = sigmoid(z)
            g, h = w * (mu - y), w * mu * (1 - mu)
            grad[0] += g
            hess[0][0] += h
            for a_i, (j, xj) in enumerate(nz):
                grad[j + 1] += g * xj
                hess[0][j + 1] += h * xj
                hj = h * xj
                row = hess[j + 1]
                for k, xk in nz[a_i:]:
                    row[k + 1] += hj * xk
        for a in range(p + 1):
            grad[a] /= total
            for b in range(a, p + 1):
                hess[a][b] /= total
                hess[b][a] = hess[a][b]
        for j in range(p):
            grad[j + 1] += pen[j] * beta[j + 1]
            hess[j + 1][j + 1] += pen[j] + 1e-12
        step = _solve(hess, grad)
        t = 1.0
        while True:  # halve the step until the objective does not rise
            trial = [b - t * s for b, s in zip(beta, step, strict=True)]
            value = objective(trial)
            if value <= current + 1e-15 or t < 1e-8:
                break
            t /= 2
        beta, current = trial, value
        if max(abs(t * s) for s in step) < tol:
            converged = True
            break
    return LogisticFit(features=features, weights=beta[1:], intercept=beta[0], means=means,
                       scales=scales, l2=l2, class_weight=class_weight, iterations=iterations,
                       converged=converged)


def best_threshold(labels: Sequence[int], scores: Sequence[float]) -> float:
    """The cut (predict 1 when score >= cut) with the highest balanced accuracy on these
    scores: the midpoint between two adjacent distinct scores; ties go to the cut nearer
    0.5, then to the higher one."""
    pos = sum(1 for y in labels if y == 1)
    neg = len(labels) - pos
    if not pos or not neg:
        raise ValueError("both classes are needed to choose a threshold")
    ranked = sorted(zip(scores, labels, strict=True), key=lambda p: -p[0])
    best, best_key = ranked[0][0] + 1e-9, (0.5, -abs(ranked[0][0] - 0.5))  # predict nothing
    tp = fp = 0
    for i, (s, y) in enumerate(ranked):
        tp, fp = tp + (y == 1), fp + (y == 0)
        if i + 1 < len(ranked) and ranked[i + 1][0] == s:
            continue
        cut = (s + ranked[i + 1][0]) / 2 if i + 1 < len(ranked) else s
        if i + 1 == len(ranked):
            cut = s  # everything predicted positive
        key = ((tp / pos + (neg - fp) / neg) / 2, -abs(cut - 0.5))
        if key > best_key:
            best, best_key = cut, key
    return best

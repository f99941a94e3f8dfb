"""Seeded percentile bootstrap, optionally resampling whole groups; balanced accuracy and
average precision. The implementation lives in `assistant.core.stats` (the calibration fitter
uses it too); the evals import it from here.
"""

from assistant.core.stats import (
           LEVEL,
           RESAMPLES,
           average_precision,
           balanced_accuracy,
           bootstrap_ci,
           mean,
           quantile,
)

__all__ = ["LEVEL", "RESAMPLES", "average_precision", "balanced_accuracy", "bootstrap_ci", "mean",
           "quantile"]

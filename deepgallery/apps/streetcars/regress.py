"""Stage 3: predict a region's demographics from its cars, with cross-validated ridge and logistic regression.

Gebru et al. (Methods, "Demographic estimation"): each region is described by its car attributes (88 of them:
counts per make/model class, body types, prices, ages, fuel economy), and every demographic variable is fitted
with ridge regression (continuous ones: income, education, race, ...) or logistic regression (the precinct's
vote, Democrat or Republican), trained on the regions whose statistics are known and judged by k-fold cross-
validation: Pearson r between the held-out regions' true and predicted values, or the held-out accuracy.

Written in NumPy (a few dozen lines each; tested against their closed forms), so the app needs no scikit-learn:

* ridge: ŵ = argmin ‖y − Xw − b‖² + α‖w‖² on standardised features, the intercept unpenalised; α chosen inside
  each training fold by exact leave-one-out (the hat-matrix formula e_i / (1 − H_ii), no refits);
* logistic: L2-penalised maximum likelihood (λ‖w‖², intercept free) by Newton's method (IRLS), which converges in
  a few steps on problems this small; the paper's headline is the one-feature version on log(sedans / pickups).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...core.errors import UserError

ALPHAS = tuple(10.0 ** k for k in range(-3, 5))  # ridge penalties tried inside each training fold


# --------------------------------------------------------------------------------------------------- folds


def kfold(n: int, folds: int, seed: int = 0, strata: np.ndarray | None = None) -> list[np.ndarray]:
    """`folds` disjoint index arrays covering range(n), shuffled by `seed`; with `strata` (class labels) each class
    is dealt round-robin over the folds, so every fold sees both outcomes when it can."""
    rng = np.random.default_rng(seed)
    out: list[list[int]] = [[] for _ in range(folds)]
    groups = [np.arange(n)] if strata is None else [np.flatnonzero(strata == s) for s in np.unique(strata)]
    start = 0
    for g in groups:
        for j, i in enumerate(rng.permutation(g)):
            out[(start + j) % folds].append(int(i))
        start += len(g)
    return [np.array(sorted(f), dtype=int) for f in out]


def check_enough(n: int, folds: int, what: str = "regions") -> None:
    if folds < 2:
        raise UserError(f"--folds must be at least 2, got {folds}")
    if n < max(folds, 4):
        raise UserError(f"too few {what} for {folds}-fold cross-validation: {n} with both cars and statistics, "
                        f"need at least {max(folds, 4)} (add regions, or lower --folds)")


# ---------------------------------------------------------------------------------------------------- ridge


@dataclass
class Standardiser:
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardiser:
        sd = x.std(axis=0)
        return cls(x.mean(axis=0), np.where(sd > 1e-12, sd, 1.0))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.scale


def ridge_fit(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """(w, b) minimising ‖y − xw − b‖² + α‖w‖² (x already standardised): w = (XcᵀXc + αI)⁻¹ Xcᵀ yc."""
    xm, ym = x.mean(axis=0), y.mean()
    xc, yc = x - xm, y - ym
    w = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ yc)
    return w, float(ym - xm @ w)


def ridge_loo_error(x: np.ndarray, y: np.ndarray, alpha: float) -> float:
    """Mean squared leave-one-out error of ridge, exactly, from one fit: e_i / (1 − H_ii) with the centred hat
    matrix H = Xc (XcᵀXc + αI)⁻¹ Xcᵀ + 11ᵀ/n."""
    n = len(y)
    xc = x - x.mean(axis=0)
    h = xc @ np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T) + 1.0 / n
    resid = y - h @ y
    return float(np.mean((resid / np.clip(1 - np.diag(h), 1e-9, None)) ** 2))


def ridge_choose_alpha(x: np.ndarray, y: np.ndarray, alphas=ALPHAS) -> float:
    return min(alphas, key=lambda a: ridge_loo_error(x, y, a))


# ------------------------------------------------------------------------------------------------ logistic


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def logistic_fit(x: np.ndarray, y: np.ndarray, lam: float = 1.0, steps: int = 50) -> tuple[np.ndarray, float]:
    """(w, b) maximising Σ log p(y_i | x_i) − λ‖w‖² /2 for y ∈ {0, 1} by Newton's method (IRLS)."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])  # (n, d+1): the last weight is the intercept, not penalised
    theta = np.zeros(d + 1)
    pen = np.full(d + 1, lam)
    pen[-1] = 0.0
    for _ in range(steps):
        p = sigmoid(xb @ theta)
        grad = xb.T @ (p - y) + pen * theta
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(pen) + 1e-9 * np.eye(d + 1)
        delta = np.linalg.solve(hess, grad)
        theta -= delta
        if np.abs(delta).max() < 1e-8:
            break
    return theta[:-1], float(theta[-1])


# ------------------------------------------------------------------------------------------ cross-validation


def pearson_r(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


@dataclass
class Fit:
    """One demographic variable fitted from the regions' car features."""

    target: str
    kind: str  # "ridge" (continuous) or "logistic" (two outcomes)
    features: list[str]
    n: int
    folds: int
    score: float  # cross-validated Pearson r (ridge) or accuracy (logistic)
    baseline: float  # ridge: 0 (r of a constant); logistic: accuracy of always guessing the commoner outcome
    predicted: np.ndarray  # (n,) out-of-fold predictions (ridge: values; logistic: P(second outcome))
    truth: np.ndarray  # (n,) the true values (logistic: 0/1)
    weights: dict[str, float] = field(default_factory=dict)  # fitted on all regions, standardised features
    intercept: float = 0.0
    alpha: float | None = None  # ridge penalty chosen on all regions
    classes: tuple[str, ...] = ()  # logistic: the two outcomes, 0 then 1

    @property
    def metric(self) -> str:
        return "cv_r" if self.kind == "ridge" else "cv_accuracy"

    def summary(self) -> dict:
        out = {"target": self.target, "model": self.kind, "features": self.features, "regions": self.n,
               "folds": self.folds, self.metric: round(self.score, 4), "baseline": round(self.baseline, 4),
               "weights_standardised": {k: round(v, 5) for k, v in self.weights.items()},
               "intercept": round(self.intercept, 5)}
        if self.alpha is not None:
            out["alpha"] = self.alpha
        if self.classes:
            out["classes"] = list(self.classes)
        return out


def fit_ridge(x: np.ndarray, y: np.ndarray, features: list[str], target: str, folds: int = 5, seed: int = 0) -> Fit:
    """k-fold cross-validated ridge regression (α chosen by leave-one-out inside each training fold)."""
    check_enough(len(y), folds)
    pred = np.zeros(len(y))
    for test in kfold(len(y), folds, seed):
        train = np.setdiff1d(np.arange(len(y)), test)
        std = Standardiser.fit(x[train])
        w, b = ridge_fit(std(x[train]), y[train], ridge_choose_alpha(std(x[train]), y[train]))
        pred[test] = std(x[test]) @ w + b
    std = Standardiser.fit(x)
    alpha = ridge_choose_alpha(std(x), y)
    w, b = ridge_fit(std(x), y, alpha)
    return Fit(target, "ridge", features, len(y), folds, pearson_r(y, pred), 0.0, pred, y,
               dict(zip(features, w.tolist(), strict=True)), b, alpha)


def fit_logistic(x: np.ndarray, y: np.ndarray, features: list[str], target: str, classes: tuple[str, str],
                 folds: int = 5, seed: int = 0, lam: float = 1.0) -> Fit:
    """Stratified k-fold cross-validated L2 logistic regression; y holds 0/1 for classes[0]/classes[1]."""
    check_enough(len(y), folds)
    if min(np.bincount(y.astype(int), minlength=2)) < 2:
        raise UserError(f"{target}: each of its two outcomes needs at least 2 regions for cross-validation")
    prob = np.zeros(len(y))
    for test in kfold(len(y), folds, seed, strata=y):
        train = np.setdiff1d(np.arange(len(y)), test)
        std = Standardiser.fit(x[train])
        w, b = logistic_fit(std(x[train]), y[train], lam)
        prob[test] = sigmoid(std(x[test]) @ w + b)
    accuracy = float(np.mean((prob > 0.5) == (y > 0.5)))
    baseline = float(max(y.mean(), 1 - y.mean()))
    std = Standardiser.fit(x)
    w, b = logistic_fit(std(x), y, lam)
    return Fit(target, "logistic", features, len(y), folds, accuracy, baseline, prob, y,
               dict(zip(features, w.tolist(), strict=True)), b, classes=classes)


def as_binary(values: list[str]) -> tuple[np.ndarray, tuple[str, str]] | None:
    """A column with exactly two distinct values → (0/1 array, (value 0, value 1)) in sorted order; else None."""
    distinct = sorted(set(values))
    if len(distinct) != 2:
        return None
    return np.array([distinct.index(v) for v in values], dtype=float), (distinct[0], distinct[1])

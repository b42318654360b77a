"""norm_opt.remove_layernorm: remove norms within an error budget.

A norm site whose per-token std is replaced by one calibrated sigma becomes
an affine map that norm-opt folds into the linear layers around it
(`norm-remove-ln`, docs/LNRemoval.md). For an LN-free checkpoint (epsilon
about 1e12) this is exact to within a bound the statistics prove; for an
ordinary model it is an approximation whose cost differs from site to
site. remove_layernorm measures it: it calibrates every site on the
caller's inputs (norm-instrument-stats run in onnxruntime), measures on
held-out inputs what removing each site alone costs, then removes sites in
order of that cost while the held-out output error of the whole model stays
within the budget.

The error is the one of the numerics policy, the worst over the graph
outputs and the held-out samples of ||out - ref|| / ||ref||.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import tempfile
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import NormOptError, OnnxRuntimeError
from .runtime import OrtBatch
from .tool import ModelLike, Result, model_file, optimize
from .verify import compare_outputs

__all__ = ["SiteStatistics", "collect_statistics", "write_statistics", "load_statistics",
           "remove_layernorm", "LNRemoval", "SiteRemoval", "STATS_FORMAT",
           "STATS_OUTPUT_PREFIX"]

#: The "format" of a statistics file (docs/LNRemoval.md).
STATS_FORMAT = "norm-opt-statistics"
#: norm-instrument-stats names each added output this plus the norm's name.
STATS_OUTPUT_PREFIX = "norm_stats:"
_EPSILON = re.compile(r"epsilon ([-+0-9.eE]+)$")

Samples = Sequence[Mapping[str, np.ndarray]]


@dataclasses.dataclass(frozen=True)
class SiteStatistics:
    """One norm's calibration (docs/LNRemoval.md, the statistics file).

    `statistic` is the quantity under the norm's root per token: the
    variance over the hidden dim (LayerNorm) or the mean square (RMSNorm).

    Attributes:
        name: the norm's name in norm-opt's report.
        kind: "layer_norm" or "rms_norm".
        epsilon: the norm's epsilon.
        tokens: how many tokens were seen.
        max_statistic: the largest statistic over them.
        mean_std: the mean per-token std sqrt(statistic + epsilon) over
            every position but the first (all positions if there is one):
            the sigma a calibrated removal uses.
        first_std: the same over the first position only (kept apart: in
            causal LMs it often carries an outlier norm; a calibrated removal
            divides that position by it); None without one.
    """
    name: str
    kind: str
    epsilon: float
    tokens: int
    max_statistic: float
    mean_std: float
    first_std: Optional[float]

    def bound_holds(self, tolerance: float = 1e-5) -> bool:
        """Whether epsilon dominates on these statistics: max statistic <=
        2 * tolerance * epsilon, the condition of an epsilon-dominated
        removal (relative error of the normalized value <= tolerance)."""
        return self.max_statistic <= 2 * tolerance * self.epsilon


def _instrumented_sites(result: Result) -> Dict[str, Tuple[str, float]]:
    """{norm name: (kind, epsilon)} from the `instrumented` records."""
    sites = {}
    for norm in result.report.norms:
        for h in norm.history:
            if h.action == "instrumented" and h.reason:
                match = _EPSILON.search(h.reason)
                if match:
                    sites[norm.name] = (norm.kind, float(match.group(1)))
    return sites


def collect_statistics(model: ModelLike, inputs: Samples, *, norm_opt: Optional[str] = None,
                       node_modules: Optional[str] = None) -> Dict[str, SiteStatistics]:
    """Runs `model` instrumented by norm-instrument-stats in onnxruntime on
    every sample of `inputs` ({input name: array} each) and returns each
    site's statistics, keyed by norm name."""
    if not inputs:
        raise ValueError("no calibration inputs")
    with tempfile.TemporaryDirectory(prefix="norm-opt-stats-") as work:
        instrumented = optimize(model, os.path.join(work, "instrumented.onnx"),
                                ("norm-instrument-stats",), norm_opt=norm_opt)
        sites = _instrumented_sites(instrumented)
        batch = OrtBatch(work, node_modules)
        jobs = [batch.add(instrumented.output_path, sample) for sample in inputs]
        results = batch.run()
    per_site: Dict[str, List[np.ndarray]] = {name: [] for name in sites}
    for job in jobs:
        outputs, error = results[job]
        if error:
            raise OnnxRuntimeError(f"instrumented model: {error}")
        for output, value in outputs:
            name = output[len(STATS_OUTPUT_PREFIX):]
            if output.startswith(STATS_OUTPUT_PREFIX) and name in per_site:
                # [..., T, 1] -> [..., T]: the position is the last axis left.
                per_site[name].append(np.asarray(value, dtype=np.float64).reshape(
                    value.shape[:-1] if value.ndim else ()))
    statistics = {}
    for name, values in per_site.items():
        kind, eps = sites[name]
        if not values:
            continue
        flat = np.concatenate([v.ravel() for v in values])
        has_positions = all(v.ndim >= 1 and v.shape[-1] > 1 for v in values)
        if has_positions:
            first = np.concatenate([v[..., 0].ravel() for v in values])
            rest = np.concatenate([v[..., 1:].ravel() for v in values])
        else:
            first, rest = None, flat
        statistics[name] = SiteStatistics(
            name, kind, eps, int(flat.size), float(flat.max()),
            float(np.sqrt(rest + eps).mean()),
            float(np.sqrt(first + eps).mean()) if first is not None else None)
    return statistics


def write_statistics(statistics: Mapping[str, SiteStatistics],
                     path: Union[str, os.PathLike],
                     remove: Optional[Mapping[str, bool]] = None,
                     measured_error: Optional[Mapping[str, float]] = None) -> None:
    """Writes a statistics file for `norm-remove-ln=stats=PATH`. A site in
    `remove` is removed with its calibrated sigma (True) or kept (False);
    a site not in it is removed only when its epsilon dominates.
    `measured_error` goes into the report of the removed sites."""
    remove = remove or {}
    measured_error = measured_error or {}
    sites = []
    for s in statistics.values():
        entry = {"name": s.name, "kind": s.kind, "epsilon": s.epsilon, "tokens": s.tokens,
                 "max_statistic": s.max_statistic, "mean_std": s.mean_std}
        if s.first_std is not None:
            entry["first_std"] = s.first_std
        if s.name in remove:
            entry["remove"] = bool(remove[s.name])
        if s.name in measured_error:
            entry["measured_error"] = measured_error[s.name]
        sites.append(entry)
    with open(path, "w") as f:
        json.dump({"format": STATS_FORMAT, "version": 1, "sites": sites}, f, indent=1)


def load_statistics(path: Union[str, os.PathLike]) -> Dict[str, SiteStatistics]:
    """Reads the statistics of a file written by write_statistics (the
    remove and measured_error fields are ignored)."""
    with open(path) as f:
        data = json.load(f)
    if data.get("format") != STATS_FORMAT or data.get("version") != 1:
        raise ValueError(f"{path}: not a norm-opt statistics file (version 1)")
    return {s["name"]: SiteStatistics(s["name"], s.get("kind", ""), s["epsilon"], s["tokens"],
                                      s["max_statistic"], s["mean_std"], s.get("first_std"))
            for s in data["sites"]}


@dataclasses.dataclass(frozen=True)
class SiteRemoval:
    """What remove_layernorm did with one site.

    Attributes:
        name, kind: the norm.
        sigma: the calibrated sigma (mean per-token std, first position
            apart); first_std: the first position's.
        cost: the held-out error of removing this site alone (None when
            norm-opt refused to remove it).
        error: the held-out error of the model once this site was added to
            the removed ones (None when it was not tried together).
        removed: whether the result has it removed.
        reason: why it was removed or kept.
    """
    name: str
    kind: str
    sigma: float
    first_std: Optional[float]
    cost: Optional[float]
    error: Optional[float]
    removed: bool
    reason: str


@dataclasses.dataclass
class LNRemoval:
    """The result of remove_layernorm.

    Attributes:
        sites: one SiteRemoval per norm site, in order of cost.
        error: the held-out error of `result`'s model, measured again on
            the final model (with nothing removed, the error of norm-opt's
            round trip alone).
        budget: the budget it was chosen under.
        result: the optimize() Result of the chosen removal (its model and
            norm-opt's report, where each removed site says `removed` with
            its sigma and measured error).
        statistics: the calibration, per site.
        stats_path: the statistics file that reproduces the result with
            `norm-opt MODEL --norm-remove-ln=stats=FILE`.
    """
    sites: Tuple[SiteRemoval, ...]
    error: float
    budget: float
    result: Result
    statistics: Dict[str, SiteStatistics]
    stats_path: str

    @property
    def removed(self) -> Tuple[str, ...]:
        return tuple(s.name for s in self.sites if s.removed)

    def __str__(self) -> str:
        width = max((len(s.name) for s in self.sites), default=4)
        lines = [f"{'site':<{width}}  sigma      cost      error     removed  why"]
        for s in self.sites:
            cost = "-" if s.cost is None else f"{s.cost:.2e}"
            err = "-" if s.error is None else f"{s.error:.2e}"
            lines.append(f"{s.name:<{width}}  {s.sigma:.3e}  {cost:>8}  {err:>8}  "
                         f"{'yes' if s.removed else 'no':<7}  {s.reason}")
        lines.append(f"{len(self.removed)} of {len(self.sites)} site(s) removed; held-out "
                     f"error {self.error:.2e} (budget {self.budget:g})")
        return "\n".join(lines)


class _Trials:
    """Builds removals with norm-opt and measures them on the held-out
    samples against the original's outputs."""

    def __init__(self, model_path, statistics, heldout, work, norm_opt, node_modules):
        self.model_path, self.statistics, self.heldout = model_path, statistics, heldout
        self.work, self.norm_opt, self.node_modules = work, norm_opt, node_modules
        self.count = 0
        batch = OrtBatch(work, node_modules)
        jobs = [batch.add(model_path, s) for s in heldout]
        results = batch.run()
        self.reference = []
        for job in jobs:
            outputs, error = results[job]
            if error:
                raise OnnxRuntimeError(f"{model_path}: {error}")
            self.reference.append(outputs)

    def build(self, chosen: Sequence[str], errors: Optional[Mapping[str, float]] = None,
              output: Optional[str] = None) -> Tuple[Result, str]:
        """norm-remove-ln with exactly `chosen` removed (every other site
        kept); returns the Result and the statistics file."""
        self.count += 1
        stats_path = os.path.join(self.work, f"stats_{self.count}.json")
        write_statistics(self.statistics, stats_path,
                         {name: name in chosen for name in self.statistics}, errors)
        out = output or os.path.join(self.work, f"removed_{self.count}.onnx")
        result = optimize(self.model_path, out, (f"norm-remove-ln=stats={stats_path}",),
                          norm_opt=self.norm_opt)
        return result, stats_path

    def measure(self, results: Sequence[Result]) -> List[float]:
        """The held-out error of each model, in one onnxruntime process."""
        batch = OrtBatch(self.work, self.node_modules)
        jobs = [[batch.add(r.output_path, s) for s in self.heldout] for r in results]
        ran = batch.run()
        errors = []
        for result, model_jobs in zip(results, jobs):
            runs = []
            for ref, job in zip(self.reference, model_jobs):
                outputs, error = ran[job]
                if error:
                    raise OnnxRuntimeError(f"{result.output_path}: {error}")
                runs.append((ref, outputs))
            worst = max((o.rel_err for o in compare_outputs(runs)), default=0.0)
            errors.append(float("inf") if math.isnan(worst) else worst)
        return errors


def _removed(result: Result, name: str) -> Tuple[bool, str]:
    for norm in result.report.norms:
        if norm.name == name:
            for h in reversed(norm.history):
                if h.pass_name == "norm-remove-ln":
                    return h.action == "removed", h.reason or ""
    return False, "norm-remove-ln did not record it"


def remove_layernorm(model: ModelLike, calibration_inputs: Samples, heldout_inputs: Samples,
                     budget: float = 1e-3, *, output: Optional[Union[str, os.PathLike]] = None,
                     stats_output: Optional[Union[str, os.PathLike]] = None,
                     norm_opt: Optional[str] = None,
                     node_modules: Optional[str] = None) -> LNRemoval:
    """Removes norm sites greedily, cheapest first, while the held-out error
    of the model stays within `budget`.

    Args:
        model: a path or an onnx.ModelProto.
        calibration_inputs: samples ({input name: array} each) to calibrate
            sigma on.
        heldout_inputs: other samples to measure the error on.
        budget: the largest held-out error accepted (relative, worst over
            outputs and samples); 0 removes nothing unless removal is exact.
        output: where to write the chosen model (default: a temporary file
            kept alive by the result).
        stats_output: where to write the statistics file that reproduces
            the choice with `norm-opt --norm-remove-ln=stats=FILE`.
        norm_opt, node_modules: the norm-opt executable and onnxruntime-node.

    Returns:
        an LNRemoval: per site sigma, the cost of removing it alone, the
        error once added, removed or kept and why; the final model and its
        measured error.
    """
    if not (budget >= 0):
        raise ValueError(f"budget must be >= 0, got {budget}")
    if not heldout_inputs:
        raise ValueError("no held-out inputs")
    statistics = collect_statistics(model, calibration_inputs, norm_opt=norm_opt,
                                    node_modules=node_modules)
    work_dir = tempfile.TemporaryDirectory(prefix="norm-opt-remove-ln-")
    work = work_dir.name
    model_path = model_file(model, work, "original.onnx")
    trials = _Trials(model_path, statistics, heldout_inputs, work, norm_opt, node_modules)

    # The cost of each site alone.
    names = list(statistics)
    alone = [trials.build([name])[0] for name in names]
    costs = dict(zip(names, trials.measure(alone)))
    refusals = {}
    for name, result in zip(names, alone):
        removed, reason = _removed(result, name)
        if not removed:
            refusals[name] = reason

    chosen: List[str] = []
    errors: Dict[str, float] = {}
    reasons: Dict[str, str] = {}
    order = sorted(names, key=lambda n: (n in refusals, costs[n], n))
    for name in order:
        if name in refusals:
            reasons[name] = f"norm-opt refused: {refusals[name]}"
            continue
        if costs[name] > budget:
            reasons[name] = f"alone it costs {costs[name]:.2e} > budget {budget:g}"
            continue
        trial, _ = trials.build(chosen + [name])
        err = trials.measure([trial])[0]
        if err <= budget:
            chosen.append(name)
            errors[name] = err
            reasons[name] = f"held-out error with it removed {err:.2e} <= budget {budget:g}"
        else:
            reasons[name] = (f"removing it too raises the held-out error to {err:.2e} > "
                             f"budget {budget:g}")

    # The chosen model, its report saying each site's measured error.
    out = os.fspath(output) if output is not None else os.path.join(work, "removed.onnx")
    final, stats_path = trials.build(chosen, errors, out)
    final_error = trials.measure([final])[0]
    if stats_output is not None:
        write_statistics(statistics, stats_output, {n: n in chosen for n in names}, errors)
        stats_path = os.fspath(stats_output)
    final._tmpdir = work_dir  # keeps its input, output and statistics alive
    sites = tuple(SiteRemoval(name, statistics[name].kind, statistics[name].mean_std,
                              statistics[name].first_std,
                              None if name in refusals else costs[name], errors.get(name),
                              name in chosen, reasons[name]) for name in order)
    return LNRemoval(sites, final_error, budget, final, statistics, stats_path)

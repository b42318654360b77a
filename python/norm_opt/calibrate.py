"""norm_opt.calibrate: which of norm-opt's rewrites hold on your data.

Every rewrite norm-opt does by default is exact in real arithmetic, and the
test suites check it at 1e-5 on random inputs. What random inputs cannot
tell is how a rewrite behaves on a model's real activations: the optional
`norm-defer-scale=cancel-before-rms-norm` is approximate, with an error that
depends on the activations' mean square (docs/NormPasses.md), and folding
into fp16/bf16 weights rounds differently depending on the weights. So
calibrate() runs each candidate pipeline on the model, runs the original and
every result in onnxruntime on the caller's sample inputs, and reports per
candidate what it did to each norm and the relative error of every output.

What it does not do: attribute an error to a single norm. A rewrite changes
tensors inside the graph (a centered residual stream, a weightless norm
feeding folded weights), so the only tensors that mean the same before and
after are the graph outputs; the per-norm view is what each pass did to
that norm (Calibration.actions), the error is per output.
"""
from __future__ import annotations

import dataclasses
import html
import tempfile
from typing import Dict, Mapping, Optional, Sequence, Tuple

import onnx

from .errors import NormOptError, OnnxRuntimeError
from .report import REWRITE_ACTIONS
from .runtime import OrtBatch
from .tool import ModelLike, Result, model_file, optimize
from .verify import DEFAULT_TOLERANCE, Inputs, OutputComparison, compare_outputs, sample_inputs

__all__ = ["calibrate", "Calibration", "Candidate", "DEFAULT_CANDIDATES"]

#: The pipelines calibrate() tries by default: each exact rewrite alone, the
#: default pipeline, and the deferred-scale forms (the last one approximate).
DEFAULT_CANDIDATES: Mapping[str, Tuple[str, ...]] = {
    "recognize only": (),
    "norm-pre-ln-to-rms": ("norm-pre-ln-to-rms",),
    "norm-pre-ln-to-rms (compress)": ("norm-pre-ln-to-rms=compress=1",),
    "norm-fold-batchnorm": ("norm-fold-batchnorm",),
    "norm-fold-weights": ("norm-fold-weights",),
    "norm-optimize": ("norm-optimize",),
    "norm-optimize + norm-defer-scale": ("norm-optimize", "norm-defer-scale"),
    "norm-optimize + norm-defer-scale (cancel-before-rms-norm)":
        ("norm-optimize", "norm-defer-scale=cancel-before-rms-norm"),
}


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One pipeline tried by calibrate().

    Attributes:
        label: its name (a key of the candidates mapping).
        passes: the passes it ran.
        result: the optimize() Result (output model, report), or None when
            norm-opt failed.
        outputs: per graph output, the worst relative and absolute errors
            against the original over the samples; empty when it failed.
        tolerance: the bound `ok` checks.
        error: why it failed (norm-opt's or onnxruntime's message), else None.
    """
    label: str
    passes: Tuple[str, ...]
    result: Optional[Result]
    outputs: Tuple[OutputComparison, ...]
    tolerance: float
    error: Optional[str] = None

    @property
    def rel_err(self) -> float:
        """The worst relative error over the outputs (inf when it failed)."""
        if self.error:
            return float("inf")
        return max((o.rel_err for o in self.outputs), default=0.0)

    @property
    def ok(self) -> bool:
        """It ran, and every output is within the tolerance."""
        return self.error is None and all(o.rel_err <= self.tolerance for o in self.outputs)

    @property
    def rewrites(self) -> int:
        """How many rewrite records (converted, folded, deferred, decomposed)
        its report holds, over all norms."""
        if self.result is None:
            return 0
        return sum(1 for n in self.result.report.norms for h in n.history
                   if h.action in REWRITE_ACTIONS)


@dataclasses.dataclass(frozen=True)
class Calibration:
    """The result of calibrate().

    Attributes:
        candidates: every pipeline tried, in the order given.
        tolerance: the relative error a candidate may reach to be accepted.
        inputs: the samples used ({name: array} each).
    """
    candidates: Tuple[Candidate, ...]
    tolerance: float
    inputs: Tuple[Dict, ...] = dataclasses.field(repr=False)

    @property
    def accepted(self) -> Tuple[Candidate, ...]:
        """The candidates that ran with every output within the tolerance."""
        return tuple(c for c in self.candidates if c.ok)

    @property
    def best(self) -> Optional[Candidate]:
        """Among the accepted candidates, the one with the most rewrite
        records (ties: the smaller error, then the earlier one); None if none
        is accepted. This ranks by how much was rewritten, not by speed:
        time the chosen model on your runtime."""
        accepted = self.accepted
        if not accepted:
            return None
        return min(accepted, key=lambda c: (-c.rewrites, c.rel_err,
                                            self.candidates.index(c)))

    def __getitem__(self, label: str) -> Candidate:
        for c in self.candidates:
            if c.label == label:
                return c
        raise KeyError(f"no candidate {label!r} (candidates: "
                       f"{', '.join(c.label for c in self.candidates)})")

    def actions(self) -> Dict[str, Dict[str, str]]:
        """{norm name: {candidate label: the norm's last action}}, the
        per-norm view (a norm absent from a candidate's report is left out)."""
        table: Dict[str, Dict[str, str]] = {}
        for c in self.candidates:
            if c.result is None:
                continue
            for n in c.result.report.norms:
                table.setdefault(n.name, {})[c.label] = n.action
        return table

    def __str__(self) -> str:
        width = max((len(c.label) for c in self.candidates), default=0)
        lines = [f"{'candidate':<{width}}  rewrites  rel err   ok (tolerance {self.tolerance:g}, "
                 f"{len(self.inputs)} sample(s))"]
        for c in self.candidates:
            err = "-" if c.error else f"{c.rel_err:.2e}"
            lines.append(f"{c.label:<{width}}  {c.rewrites:>8}  {err:>8}  "
                         f"{'yes' if c.ok else 'no'}" + (f"  ({c.error})" if c.error else ""))
        best = self.best
        lines.append(f"best: {best.label if best else 'none within the tolerance'}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:  # Jupyter
        rows = "".join(
            f"<tr><td>{html.escape(c.label)}</td><td>{c.rewrites}</td>"
            f"<td>{'-' if c.error else f'{c.rel_err:.2e}'}</td><td>{'yes' if c.ok else 'no'}"
            f"</td><td>{html.escape(c.error or '')}</td></tr>" for c in self.candidates)
        best = self.best
        return ("<table><tr><th>candidate</th><th>rewrites</th><th>rel err</th><th>ok</th>"
                f"<th>error</th></tr>{rows}</table><p>best: "
                f"{html.escape(best.label) if best else 'none within the tolerance'}</p>")


def calibrate(model: ModelLike, inputs: Optional[Inputs] = None, *,
              candidates: Optional[Mapping[str, Sequence[str]]] = None,
              tolerance: float = DEFAULT_TOLERANCE, samples: int = 2, seed: int = 0,
              dims: Optional[Mapping[str, int]] = None, norm_opt: Optional[str] = None,
              node_modules: Optional[str] = None) -> Calibration:
    """Tries each candidate pipeline on `model` and measures, on the sample
    inputs, how far each result's outputs are from the original's.

    Args:
        model: a path or an onnx.ModelProto.
        inputs: sample inputs, {name: array} or a list of them: use real data
            where the error depends on it (the approximate rewrites). Inputs
            not given are random (see random_inputs).
        candidates: {label: passes}; default DEFAULT_CANDIDATES.
        tolerance: the relative error a candidate may reach (default 1e-5).
        samples, seed, dims: for random inputs (see verify).
        norm_opt, node_modules: the norm-opt executable and onnxruntime-node.

    Returns:
        a Calibration: per candidate its Result (report, output model), its
        per-output errors and whether it is within the tolerance; `best`,
        and `actions()` for what each candidate did to each norm.

    Raises:
        NormOptError: norm-opt rejects the model itself (every candidate
            fails with the same error); a candidate that fails alone is
            recorded with its error instead.
        RuntimeUnavailableError, OnnxRuntimeError: onnxruntime is missing or
            cannot run the original model.
    """
    candidates = dict(DEFAULT_CANDIDATES if candidates is None else candidates)
    if not candidates:
        raise ValueError("no candidates")
    with tempfile.TemporaryDirectory(prefix="norm-opt-calibrate-") as work:
        original = model_file(model, work, "original.onnx")
        tried = []
        for label, passes in candidates.items():
            passes = tuple(passes)
            try:
                # Each Result keeps its own copy of the input and its output.
                result = optimize(model if isinstance(model, onnx.ModelProto) else original,
                                  passes=passes, norm_opt=norm_opt)
                tried.append((label, passes, result, None))
            except NormOptError as e:
                tried.append((label, passes, None, e))
        failures = [t[3] for t in tried if t[3] is not None]
        if len(failures) == len(tried) and len({(e.message, e.node, e.node_output)
                                                for e in failures}) == 1:
            raise failures[0]  # the model itself is rejected: no candidate can run
        tried = [(label, passes, result, None if e is None else str(e))
                 for label, passes, result, e in tried]
        feeds = sample_inputs(original, inputs, seed=seed, samples=samples, dims=dims)
        batch = OrtBatch(work, node_modules)
        reference = [batch.add(original, f) for f in feeds]
        jobs = [[batch.add(r.output_path, f) for f in feeds] if r else [] for _, _, r, _ in tried]
        results = batch.run()
    for job in reference:
        if results[job][1]:
            raise OnnxRuntimeError(f"{original}: {results[job][1]}")
    out = []
    for (label, passes, result, error), job_list in zip(tried, jobs):
        outputs: Tuple[OutputComparison, ...] = ()
        if error is None:
            errors = [results[j][1] for j in job_list if results[j][1]]
            if errors:
                error = errors[0]
            else:
                try:
                    outputs = compare_outputs([(results[r][0], results[j][0])
                                               for r, j in zip(reference, job_list)])
                except ValueError as e:
                    error = str(e)
        out.append(Candidate(label, passes, result, outputs, tolerance, error))
    return Calibration(tuple(out), tolerance, tuple(feeds))

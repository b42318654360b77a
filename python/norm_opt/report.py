"""The report norm-opt writes with `--report` (schema: docs/Report.md), as
typed, read-only Python objects."""
from __future__ import annotations

import dataclasses
import html
import json
import os
from typing import Any, Dict, Mapping, Optional, Tuple, Union

__all__ = ["Report", "NormRecord", "HistoryEntry", "NORM_KINDS", "REWRITE_ACTIONS"]

#: The norm kinds (`norm` dialect ops) the report counts.
NORM_KINDS = ("layer_norm", "rms_norm", "batch_norm", "skip_layer_norm", "skip_rms_norm",
              "crms_norm")
#: The actions that change a norm (the others are `recognized`, `refused`
#: and `warning`).
REWRITE_ACTIONS = ("converted", "folded", "deferred", "decomposed", "removed")


@dataclasses.dataclass(frozen=True)
class HistoryEntry:
    """One record a pass left about a norm.

    Attributes:
        pass_name: the pass argument, e.g. "norm-fold-weights".
        action: "recognized", "converted", "folded", "deferred",
            "decomposed", "warning" or "refused".
        reason: how (for "recognized", the spelling found) or why not (for
            "refused"); None when the pass gave none.
    """
    pass_name: str
    action: str
    reason: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class NormRecord:
    """What norm-opt found and did to one normalization layer.

    Attributes:
        name: the ONNX node name (for a decomposed chain, the name the
            recognizer gave it), else its first output tensor.
        kind: "layer_norm", "rms_norm", ... as of the last record (a LayerNorm
            converted to RMSNorm says "rms_norm").
        action: the last action: what finally happened to it.
        reason: the reason given with the last action, or None.
        history: every record, in pass order.
    """
    name: str
    kind: str
    action: str
    reason: Optional[str]
    history: Tuple[HistoryEntry, ...]

    @property
    def refused(self) -> bool:
        """True when the last pass that looked at it left it unchanged."""
        return self.action == "refused"

    @property
    def rewritten(self) -> bool:
        """True when some pass changed it (converted, folded, deferred or
        decomposed), even if a later pass refused to go further."""
        return any(h.action in REWRITE_ACTIONS for h in self.history)

    @property
    def spelling(self) -> Optional[str]:
        """How the model wrote it, e.g. "LayerNormalization node" or the
        decomposed chain's description (the `recognized` record's reason)."""
        for h in self.history:
            if h.action == "recognized":
                return h.reason
        return None

    @property
    def warnings(self) -> Tuple[str, ...]:
        """The reasons of its `warning` records (fp16/bf16 weights that lost
        precision when folded)."""
        return tuple(h.reason or "" for h in self.history if h.action == "warning")


@dataclasses.dataclass(frozen=True)
class Report:
    """The report of one norm-opt run.

    Attributes:
        norms: one record per norm any pass recorded something about, in
            graph order.
        counts: the report's `counts` object as is: norm kinds in the output
            and how many times each action was recorded.
        input, output: the paths norm-opt was given.
        raw: the parsed JSON, for fields this version does not know.
    """
    norms: Tuple[NormRecord, ...]
    counts: Mapping[str, int]
    input: Optional[str] = None
    output: Optional[str] = None
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Report":
        """Builds a Report from the parsed JSON; ValueError if it is not one."""
        if not isinstance(data, Mapping) or "norms" not in data or "counts" not in data:
            raise ValueError("not a norm-opt report (no 'norms' and 'counts'): see docs/Report.md")
        norms = []
        for n in data["norms"]:
            history = tuple(HistoryEntry(h["pass"], h["action"], h.get("reason"))
                            for h in n.get("history", ()))
            norms.append(NormRecord(n["name"], n["kind"], n["action"], n.get("reason"), history))
        counts = {k: int(v) for k, v in data["counts"].items()}
        return cls(tuple(norms), counts, data.get("input"), data.get("output"), dict(data))

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "Report":
        """Reads a report written by `norm-opt --report FILE`."""
        with open(path) as f:
            return cls.from_dict(json.load(f))

    @property
    def kinds(self) -> Dict[str, int]:
        """Norms in the output by kind (layer_norm, rms_norm and batch_norm
        always present, the others when non-zero)."""
        return {k: v for k, v in self.counts.items() if k in NORM_KINDS}

    @property
    def actions(self) -> Dict[str, int]:
        """How many records of each action the passes left."""
        return {k: v for k, v in self.counts.items() if k not in NORM_KINDS}

    @property
    def refused(self) -> Tuple[NormRecord, ...]:
        """The norms whose last action is `refused` (their reason says why)."""
        return self.with_action("refused")

    @property
    def rewritten(self) -> Tuple[NormRecord, ...]:
        """The norms some pass changed."""
        return tuple(n for n in self.norms if n.rewritten)

    def with_action(self, action: str) -> Tuple[NormRecord, ...]:
        """The norms whose last action is `action`."""
        return tuple(n for n in self.norms if n.action == action)

    def norm(self, name: str) -> NormRecord:
        """The record of the norm called `name`; KeyError if there is none."""
        for n in self.norms:
            if n.name == name:
                return n
        raise KeyError(f"no norm named {name!r} in the report "
                       f"({len(self.norms)} norms: {', '.join(n.name for n in self.norms[:5])}"
                       f"{', ...' if len(self.norms) > 5 else ''})")

    def __len__(self) -> int:
        return len(self.norms)

    def __iter__(self):
        return iter(self.norms)

    def __repr__(self) -> str:
        kinds = ", ".join(f"{k}={v}" for k, v in self.kinds.items() if v) or "none"
        actions = ", ".join(f"{k}={v}" for k, v in self.actions.items())
        return f"<Report: {len(self.norms)} norms; in the output: {kinds}; actions: {actions}>"

    def summary(self) -> str:
        """The text `norm-opt --summary` prints: the norms in the output by
        kind, then one line per norm: name (kind): action - reason."""
        kinds = " ".join(f"{k}={v}" for k, v in self.kinds.items() if v)
        lines = [f"norms in the output: {kinds or 'none'}"]
        for n in self.norms:
            lines.append(f"  {n.name} ({n.kind}): {n.action}"
                         + (f" - {n.reason}" if n.reason else ""))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:  # Jupyter
        kinds = ", ".join(f"{k}={v}" for k, v in self.kinds.items() if v) or "none"
        rows = "".join(
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                *(html.escape(x) for x in (n.name, n.kind, n.action, n.reason or "")))
            for n in self.norms)
        return (f"<p>norms in the output: {html.escape(kinds)}</p>"
                "<table><tr><th>norm</th><th>kind</th><th>action</th><th>reason</th></tr>"
                f"{rows}</table>")

"""The exceptions norm_opt raises, and the diagnostics norm-opt prints."""
from __future__ import annotations

import dataclasses
import re
from typing import Optional, Sequence, Tuple

__all__ = ["Diagnostic", "NormOptError", "NormOptNotFoundError", "RuntimeUnavailableError",
           "OnnxRuntimeError"]


@dataclasses.dataclass(frozen=True)
class Diagnostic:
    """One diagnostic line of norm-opt, `norm-opt: SEVERITY: FILE: node 'NAME': MESSAGE`.

    Attributes:
        severity: "error", "warning", "remark" or "note".
        message: the text after the file and node.
        file: the file it refers to (with `:LINE:COL` for .mlir input), if named.
        node: the ONNX node name, if the node has one.
        node_output: for an unnamed node, the name of its first output tensor
            (norm-opt says "node producing 'Y'").
        line: the line exactly as norm-opt printed it.
    """
    severity: str
    message: str
    file: Optional[str] = None
    node: Optional[str] = None
    node_output: Optional[str] = None
    line: str = ""

    def __str__(self) -> str:
        return self.line or f"norm-opt: {self.severity}: {self.message}"


_LINE = re.compile(r"^norm-opt: (error|warning|remark|note): (.*)$")
_NODE = re.compile(r"^node '(.*?)': (.*)$")
_NODE_OUTPUT = re.compile(r"^node producing '(.*?)': (.*)$")
_MLIR_FILE = re.compile(r"^(\S+?:\d+:\d+): (.*)$")


def parse_diagnostics(stderr: str, files: Sequence[str] = ()) -> Tuple[Diagnostic, ...]:
    """The diagnostics in norm-opt's stderr. `files` are the paths given on the
    command line: a message starting with one of them names that file (paths
    may contain ': ', so they are matched, not split). Lines that are not
    diagnostics (LLVM's command-line errors, --summary) are skipped."""
    result = []
    for line in stderr.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        severity, rest = m.groups()
        file = None
        for candidate in sorted(files, key=len, reverse=True):
            if candidate and rest.startswith(candidate + ": "):
                file, rest = candidate, rest[len(candidate) + 2:]
                break
        else:
            m = _MLIR_FILE.match(rest)
            if m:
                file, rest = m.groups()
        node = node_output = None
        m = _NODE.match(rest)
        if m:
            node, rest = m.groups()
        else:
            m = _NODE_OUTPUT.match(rest)
            if m:
                node_output, rest = m.groups()
        result.append(Diagnostic(severity, rest, file, node, node_output, line))
    return tuple(result)


class NormOptError(Exception):
    """norm-opt failed (bad model, unknown pass, failed pass, unwritable output).

    str(error) is norm-opt's own error message. Attributes:
        message: the first error's message (without file and node), or
            norm-opt's stderr when it printed no diagnostic line.
        file, node, node_output: what the first error names (see Diagnostic).
        diagnostics: every diagnostic norm-opt printed (remarks included).
        returncode: norm-opt's exit status.
        command: the command line that was run.
        stderr: norm-opt's whole stderr.
    """

    def __init__(self, returncode: int, command: Sequence[str], stderr: str,
                 diagnostics: Sequence[Diagnostic]):
        self.returncode = returncode
        self.command = list(command)
        self.stderr = stderr
        self.diagnostics = tuple(diagnostics)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        first = errors[0] if errors else None
        self.message = first.message if first else (stderr.strip() or
                                                     f"norm-opt exited with status {returncode}")
        self.file = first.file if first else None
        self.node = first.node if first else None
        self.node_output = first.node_output if first else None
        text = "\n".join(d.line for d in errors) if errors else self.message
        super().__init__(text)


class NormOptNotFoundError(FileNotFoundError):
    """No norm-opt executable was found (see norm_opt.find_norm_opt)."""


class RuntimeUnavailableError(RuntimeError):
    """onnxruntime cannot be run: Node.js or npm's onnxruntime-node is missing.

    norm_opt runs models with onnxruntime-node (there is no onnxruntime in
    Debian and no PyPI here); see norm_opt.runtime.find_node_modules."""


class OnnxRuntimeError(RuntimeError):
    """onnxruntime could not load or run a model (e.g. a missing or
    mistyped input); str(error) is onnxruntime's message."""

"""Running the norm-opt executable: norm_opt.optimize and its Result."""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
from typing import Any, Optional, Sequence, Tuple, Union

import onnx

from .errors import Diagnostic, NormOptError, NormOptNotFoundError, parse_diagnostics
from .report import Report

__all__ = ["find_norm_opt", "optimize", "Result", "ModelLike", "DEFAULT_PASSES"]

#: A model argument: a path to an .onnx (or .onnxtxt, .mlir) file, or an
#: in-memory onnx.ModelProto.
ModelLike = Union[str, os.PathLike, onnx.ModelProto]

#: The pipeline optimize() runs by default: every exact rewrite.
DEFAULT_PASSES = ("norm-optimize",)

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _checkout() -> Optional[str]:
    """The norm-opt checkout this package sits in (CHECKOUT/python/norm_opt),
    or None for an installed copy."""
    root = os.path.dirname(os.path.dirname(PACKAGE_DIR))
    if (os.path.basename(os.path.dirname(PACKAGE_DIR)) == "python"
            and os.path.isfile(os.path.join(root, "tools", "norm-opt", "norm-opt.cpp"))):
        return root
    return None


CHECKOUT = _checkout()


def find_norm_opt(path: Optional[Union[str, os.PathLike]] = None) -> str:
    """The norm-opt executable to run: `path` if given, else $NORM_OPT, else
    the build tree of the checkout this package sits in (build/bin/norm-opt,
    so that a package imported from a checkout runs that checkout's build
    rather than an older installed one), else `norm-opt` on $PATH.

    Raises NormOptNotFoundError naming every place looked at."""
    tried = []
    build = os.path.join(CHECKOUT, "build", "bin", "norm-opt") if CHECKOUT else None
    for source, candidate in (("argument", path), ("$NORM_OPT", os.environ.get("NORM_OPT")),
                              ("build tree", build)):
        if not candidate:
            continue
        candidate = os.fspath(candidate)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
        tried.append(f"{candidate} ({source})")
        if source != "build tree":  # an explicit choice that does not exist is an error
            raise NormOptNotFoundError(f"norm-opt not found: {candidate} given as {source} "
                                       "is not an executable file")
    on_path = shutil.which("norm-opt")
    if on_path:
        return on_path
    tried.append("norm-opt on $PATH")
    raise NormOptNotFoundError("norm-opt not found; looked at " + ", ".join(tried)
                               + ". Build it (scripts/setup.sh), or set $NORM_OPT, "
                               "or pass norm_opt=PATH.")


def pass_arguments(passes: Sequence[str]) -> list:
    """`--NAME[=OPTIONS]` for each pass, accepting "norm-optimize",
    "--norm-optimize" or "norm-defer-scale=cancel-before-rms-norm"."""
    if isinstance(passes, str):
        raise TypeError("passes must be a sequence of pass names, e.g. ('norm-optimize',), "
                        "not a string")
    args = []
    for p in passes:
        name = p.lstrip("-")
        if not name or any(c.isspace() for c in name.split("=", 1)[0]):
            raise ValueError(f"bad pass name {p!r}")
        args.append("--" + name)
    return args


@dataclasses.dataclass
class Result:
    """What optimize() produced.

    Attributes:
        output_path: the optimized model's file (in a temporary directory
            that lives as long as this Result when no `output` was given).
        input_path: the model file norm-opt read (a temporary copy for an
            in-memory model, kept as long as this Result).
        report: the typed report: every norm, what each pass did to it and why.
        diagnostics: norm-opt's warnings and remarks (one remark per refusal).
        command: the norm-opt command line that was run.
    """
    output_path: str
    input_path: str
    report: Report
    diagnostics: Tuple[Diagnostic, ...]
    command: Tuple[str, ...]
    _tmpdir: Any = dataclasses.field(default=None, repr=False, compare=False)
    _model: Optional[onnx.ModelProto] = dataclasses.field(default=None, repr=False,
                                                          compare=False)

    @property
    def model(self) -> onnx.ModelProto:
        """The optimized model, loaded (with its external data) on first use."""
        if self._model is None:
            self._model = onnx.load(self.output_path)
        return self._model

    @property
    def warnings(self) -> Tuple[Diagnostic, ...]:
        """norm-opt's warnings (e.g. a folded fp16 weight that lost precision)."""
        return tuple(d for d in self.diagnostics if d.severity == "warning")

    @property
    def remarks(self) -> Tuple[Diagnostic, ...]:
        """norm-opt's remarks: one per norm a pass left unchanged, naming
        the node and the reason (the report holds the same)."""
        return tuple(d for d in self.diagnostics if d.severity == "remark")

    def verify(self, inputs=None, **options):
        """norm_opt.verify(self.input_path, self.output_path, inputs, **options):
        runs the original and the optimized model on the same inputs."""
        from .verify import verify
        return verify(self.input_path, self.output_path, inputs, **options)

    def __repr__(self) -> str:
        return (f"Result(output_path={self.output_path!r}, input_path={self.input_path!r}, "
                f"report={self.report!r}, diagnostics=<{len(self.diagnostics)}>)")

    def __str__(self) -> str:
        return f"{self.output_path}\n{self.report.summary()}"

    def _repr_html_(self) -> str:  # Jupyter
        import html
        return f"<p>norm-opt wrote <code>{html.escape(self.output_path)}</code></p>" + \
            self.report._repr_html_()


def model_file(model: ModelLike, directory: str, name: str = "input.onnx") -> str:
    """The path of `model`: as is for a path (which must exist), else the
    ModelProto saved into `directory` (with external data above 1.8 GB, as
    protobuf cannot serialize more than 2 GB in one message)."""
    if isinstance(model, onnx.ModelProto):
        path = os.path.join(directory, name)
        if model.ByteSize() > 1800 * 2**20:
            copy = onnx.ModelProto()
            copy.CopyFrom(model)  # save_model moves the tensors of what it saves
            onnx.save_model(copy, path, save_as_external_data=True,
                            all_tensors_to_one_file=True, location=name + ".data")
        else:
            onnx.save_model(model, path)
        return path
    if isinstance(model, (str, os.PathLike)):
        return os.fspath(model)
    raise TypeError(f"expected a path or an onnx.ModelProto, got {type(model).__name__}")


def optimize(model: ModelLike, output: Optional[Union[str, os.PathLike]] = None,
             passes: Sequence[str] = DEFAULT_PASSES, *, pipeline: Optional[str] = None,
             recognize: bool = True, external_data: str = "auto",
             extra_args: Sequence[str] = (), norm_opt: Optional[str] = None,
             timeout: Optional[float] = None) -> Result:
    """Optimizes the normalization layers of an ONNX model with norm-opt.

    Runs `norm-opt MODEL -o OUTPUT --NAME... --report REPORT`: norm-opt
    recognizes every norm (LayerNorm, RMSNorm, BatchNorm and their fused and
    decomposed spellings), runs `passes`, and writes a standard ONNX model.

    Args:
        model: a path (.onnx, .onnxtxt or .mlir) or an onnx.ModelProto.
        output: where to write the result (.onnx, .onnxtxt or .mlir, by
            extension); None writes into a temporary directory kept alive by
            the Result. Nothing is written there if norm-opt fails.
        passes: pass names, run in order after recognition, e.g.
            ("norm-optimize",) (the default: every exact rewrite),
            ("norm-fold-weights", "norm-defer-scale"),
            ("norm-pre-ln-to-rms=compress=1",); () only recognizes the norms
            and writes the model back. `norm-opt --help` lists them all.
        pipeline: a full `--pass-pipeline` string instead of `passes`.
        recognize: False skips the implicit norm-recognize.
        external_data: "auto" (as the input, or above 2 GB), "always", "never".
        extra_args: more norm-opt arguments, passed as they are.
        norm_opt: the norm-opt executable (see find_norm_opt).
        timeout: seconds before norm-opt is killed (subprocess.TimeoutExpired).

    Returns:
        a Result: the output path, the model (loaded on demand), the typed
        report and norm-opt's diagnostics.

    Raises:
        NormOptError: norm-opt failed; the error names the file, the node and
            the problem as norm-opt printed them.
        NormOptNotFoundError: no norm-opt executable was found.
    """
    if pipeline is not None and tuple(passes) not in ((), DEFAULT_PASSES):
        raise ValueError("give either passes or pipeline, not both")
    if external_data not in ("auto", "always", "never"):
        raise ValueError(f"external_data must be 'auto', 'always' or 'never', "
                         f"not {external_data!r}")
    executable = find_norm_opt(norm_opt)
    tmp = tempfile.TemporaryDirectory(prefix="norm-opt-")
    keep_tmp = False
    try:
        input_path = model_file(model, tmp.name)
        if output is None:
            output_path = os.path.join(tmp.name, "output.onnx")
            keep_tmp = True
        else:
            output_path = os.fspath(output)
        keep_tmp = keep_tmp or isinstance(model, onnx.ModelProto)
        report_path = os.path.join(tmp.name, "report.json")
        args = [input_path, "-o", output_path, "--report", report_path]
        if pipeline is not None:
            args.append(f"--pass-pipeline={pipeline}")
        else:
            args += pass_arguments(passes)
        if not recognize:
            args.append("--recognize=false")
        if external_data != "auto":
            args.append(f"--external-data={external_data}")
        args += list(extra_args)
        command = (executable, *args)
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        diagnostics = parse_diagnostics(proc.stderr, (input_path, output_path))
        if proc.returncode != 0:
            raise NormOptError(proc.returncode, command, proc.stderr, diagnostics)
        report = Report.load(report_path)
    except BaseException:
        tmp.cleanup()
        raise
    if not keep_tmp:
        tmp.cleanup()
        tmp = None
    return Result(output_path, input_path, report, diagnostics, command, tmp)

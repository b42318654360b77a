"""Running ONNX models with onnxruntime, through Node.js.

Debian packages no onnxruntime for Python and PyPI is out of reach here, so
models run in onnxruntime-node (npm; CPU build) by ort_run.js, one Node
process per batch of runs. Install it with
`ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node` (scripts/setup.sh
does this into test/e2e/node_modules).
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from typing import List, Mapping, Optional, Tuple

import numpy as np

from .errors import RuntimeUnavailableError
from .tool import CHECKOUT, PACKAGE_DIR

__all__ = ["OrtBatch", "find_node_modules", "check_onnxruntime", "ORT_RUN"]

ORT_RUN = os.path.join(PACKAGE_DIR, "ort_run.js")

#: Outputs of one run: [(output name, array)] in graph-output order.
Outputs = List[Tuple[str, np.ndarray]]


def find_node_modules(node_modules: Optional[str] = None) -> Optional[str]:
    """The node_modules folder to load onnxruntime-node from: `node_modules`
    if given, else $ORT_NODE_MODULES, else the checkout's test/e2e/node_modules
    (where scripts/setup.sh installs it) if present, else None (Node's own
    resolution: $NODE_PATH, global modules)."""
    for candidate in (node_modules, os.environ.get("ORT_NODE_MODULES")):
        if candidate:
            return os.fspath(candidate)
    if CHECKOUT:
        checkout = os.path.join(CHECKOUT, "test", "e2e", "node_modules")
        if os.path.isdir(os.path.join(checkout, "onnxruntime-node")):
            return checkout
    return None


def _environment(node_modules: Optional[str]) -> dict:
    env = dict(os.environ)
    if node_modules:
        env["ORT_NODE_MODULES"] = os.path.abspath(node_modules)
    return env


@functools.lru_cache(maxsize=None)
def _check(node_modules: Optional[str]) -> None:
    node = shutil.which("node")
    if node is None:
        raise RuntimeUnavailableError(
            "onnxruntime runs in Node.js here, and `node` is not on $PATH: install Node.js "
            "(apt-get install nodejs npm), then onnxruntime-node "
            "(ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node)")
    target = (json.dumps(os.path.join(os.path.abspath(node_modules), "onnxruntime-node"))
              if node_modules else "'onnxruntime-node'")
    proc = subprocess.run([node, "-e", f"require({target})"], capture_output=True, text=True,
                          env=_environment(node_modules))
    if proc.returncode != 0:
        where = node_modules or "Node's module path (no node_modules folder was given or found)"
        lines = proc.stderr.strip().splitlines()
        first = next((l for l in lines if "Error" in l), lines[0] if lines else "")
        raise RuntimeUnavailableError(
            f"cannot load onnxruntime-node from {where}: {first.strip()[:300]}. Install it with "
            "`ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node` (scripts/setup.sh "
            "puts it in test/e2e/node_modules) and pass node_modules=DIR or set "
            "$ORT_NODE_MODULES to the node_modules folder")


def check_onnxruntime(node_modules: Optional[str] = None) -> str:
    """Checks that Node.js can load onnxruntime-node; returns the
    node_modules folder used ('' for Node's own resolution). Raises
    RuntimeUnavailableError with what to install otherwise."""
    found = find_node_modules(node_modules)
    _check(found)
    return found or ""


class OrtBatch:
    """Collects onnxruntime runs and does them in one Node process (loading
    onnxruntime once costs about as much as running a small model).

        batch = OrtBatch(workdir)
        a = batch.add("model.onnx", {"x": x})
        b = batch.add("out.onnx", {"x": x})
        (ref, err_a), (got, err_b) = batch.run()

    Input arrays are written as .npy files under `workdir`.
    """

    def __init__(self, workdir: str, node_modules: Optional[str] = None):
        self.workdir = workdir
        self.node_modules = find_node_modules(node_modules)
        self.jobs: list = []
        self._runs = 0

    def add(self, model: str, inputs: Optional[Mapping[str, np.ndarray]],
            opt_level: str = "disabled", optimized_model: Optional[str] = None) -> int:
        """Queues a run of `model` on `inputs` ({name: array}; None only
        creates the session); returns the job's index in run()'s result.
        `opt_level` is onnxruntime's graph optimization level (disabled,
        basic, extended, all); `optimized_model` saves the model as
        onnxruntime optimized it at that level."""
        index = len(self.jobs)
        job_dir = os.path.join(self.workdir, f"ort_job_{self._runs}_{index}")
        os.makedirs(job_dir, exist_ok=True)
        files = {}
        for i, (name, value) in enumerate((inputs or {}).items()):
            path = os.path.join(job_dir, f"input_{i}.npy")
            np.save(path, np.ascontiguousarray(value))
            files[name] = path
        job = {"model": os.path.abspath(model), "inputs": files, "opt_level": opt_level,
               "run": inputs is not None}
        if inputs is not None:
            job["out_dir"] = os.path.join(job_dir, "out")
        if optimized_model:
            job["optimized_model"] = os.path.abspath(optimized_model)
        self.jobs.append(job)
        return index

    def run(self) -> List[Tuple[Optional[Outputs], Optional[str]]]:
        """Runs every queued job and empties the queue; returns, per job,
        (outputs, None) or (None, onnxruntime's error message).
        Raises RuntimeUnavailableError when onnxruntime-node cannot be loaded."""
        if not self.jobs:
            return []
        _check(self.node_modules)
        jobs_file = os.path.join(self.workdir, f"ort_jobs_{self._runs}.json")
        self._runs += 1
        with open(jobs_file, "w") as f:
            json.dump(self.jobs, f)
        proc = subprocess.run(["node", ORT_RUN, "--batch", jobs_file], capture_output=True,
                              text=True, env=_environment(self.node_modules))
        status = {}
        for line in proc.stdout.splitlines():
            try:
                entry = json.loads(line)
                status[entry["job"]] = entry
            except (ValueError, KeyError, TypeError):
                pass
        results: List[Tuple[Optional[Outputs], Optional[str]]] = []
        for i, job in enumerate(self.jobs):
            entry = status.get(i)
            if entry is None:
                results.append((None, f"onnxruntime runner crashed: {proc.stderr.strip()[-500:]}"))
            elif not entry["ok"]:
                results.append((None, f"onnxruntime: {entry['error']}"))
            elif not job["run"]:
                results.append(([], None))
            else:
                with open(os.path.join(job["out_dir"], "outputs.json")) as f:
                    listing = json.load(f)
                results.append(([(o["name"], np.load(os.path.join(job["out_dir"], o["file"])))
                                 for o in listing], None))
        self.jobs = []
        return results

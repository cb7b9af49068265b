"""The ``cuda`` test tier run as ``python -m pytest -m cuda tests/test_cuda.py`` in a
subprocess, its outcome per test read back from pytest's JUnit XML.

Only that file is collected: collecting the whole suite would import tests that need
packages a GPU machine may lack (gradio, for one), and the tier needs none of them.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from benchmarks.gpu_subprocess import run_bounded

TIER = "tests/test_cuda.py"
# pytest -v prints "tests/test_cuda.py::name PASSED [ 16%]" as each test ends.
PROGRESS = re.compile(r"^\S+::(\w+) (PASSED|FAILED|SKIPPED|ERROR)", re.M)


def command(xml: Path) -> list[str]:
    # In this process, without the project's addopts (pytest-xdist's -n may not be installed,
    # and its workers would change the -v lines read back below).
    return [
        sys.executable,
        "-m",
        "pytest",
        "-o",
        "addopts=",
        "-p",
        "no:xdist",
        "-m",
        "cuda",
        TIER,
        "-v",
        "-p",
        "no:cacheprovider",
        f"--junitxml={xml}",
        "-o",
        "junit_family=xunit2",
    ]


def outcomes(xml: Path) -> list[dict]:
    """[{"name", "status": passed/failed/skipped, "reason", "seconds"}] per test case."""
    tests = []
    for case in ET.parse(xml).getroot().iter("testcase"):
        status, reason = "passed", None
        for tag in ("failure", "error", "skipped"):
            found = case.find(tag)
            if found is not None:
                status = "skipped" if tag == "skipped" else "failed"
                reason = (found.get("message") or found.text or tag).strip()[:1500]
        tests.append(
            {
                "name": case.get("name"),
                "status": status,
                "reason": reason,
                "seconds": float(case.get("time") or 0.0),
            }
        )
    return tests


def _partial(stdout: str, seconds: float) -> list[dict]:
    """The tests a run killed at its time limit had finished, from pytest -v's lines."""
    tests = [
        {
            "name": name,
            "status": "failed" if word in ("FAILED", "ERROR") else word.lower(),
            "reason": None,
            "seconds": 0.0,
        }
        for name, word in PROGRESS.findall(stdout)
    ]
    return tests + [
        {
            "name": "(the rest of the tier)",
            "status": "skipped",
            "reason": f"over the section's budget ({seconds:.0f} s)",
            "seconds": 0.0,
        }
    ]


def run_tier(xml: Path, seconds: float) -> dict:
    xml.unlink(missing_ok=True)
    cmd = command(xml)
    res = run_bounded(cmd, seconds)
    if res.timed_out:
        tests = _partial(res.stdout, seconds)
    elif xml.is_file():
        tests = outcomes(xml)
    else:
        raise RuntimeError(
            f"pytest exited {res.returncode} without a report: {(res.stdout + res.stderr)[-1500:]}"
        )
    counts = {s: sum(t["status"] == s for t in tests) for s in ("passed", "failed", "skipped")}
    return {
        "command": "python " + " ".join(cmd[1:]).replace(str(xml), xml.name),
        "returncode": res.returncode,
        "tests": tests,
        **counts,
        "output_tail": "\n".join(res.stdout.splitlines()[-15:]),
    }

"""Shared by tests/packaging: where the tree and its build are, root checks,
and the Debian package, built once per run (session fixture in conftest.py).
"""
import os
import shutil
import subprocess

import pytest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BGPLB_BUILD", os.path.join(TOP, "build"))


def require_root():
    if os.geteuid() != 0:
        pytest.skip("SKIPPED LOUDLY: needs root (namespaces, mounts, chroot)")


def need_tool(name, package):
    """The path of a tool, or a loud skip naming the Debian package."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"SKIPPED LOUDLY: {name} not found (Debian package "
                    f"{package}; tests/run.sh installs it)")
    return path


def run(args, **kw):
    """subprocess.run with text output; a failure shows its output."""
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited "
                             f"{r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r

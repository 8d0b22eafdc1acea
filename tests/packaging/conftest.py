"""Fixtures for tests/packaging: the Debian package, built once per run from
a copy of the tree (dpkg-buildpackage writes next to the source directory,
so never into the work tree's parent), and its files unpacked."""
import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from pkgutil_bgplb import TOP, need_tool, run  # noqa: E402


def tree_files():
    """The tree's files as git sees them (tracked and new, not ignored), or
    everything but build directories outside git."""
    r = subprocess.run(["git", "-C", TOP, "ls-files", "-co", "--exclude-standard", "-z"],
                       capture_output=True)
    if r.returncode == 0:
        return [f for f in r.stdout.decode().split("\0") if f]
    out = []
    for root, dirs, files in os.walk(TOP):
        dirs[:] = [d for d in dirs if not d.startswith(("build", ".git", "obj-"))]
        out += [os.path.relpath(os.path.join(root, f), TOP) for f in files]
    return out


@pytest.fixture(scope="session")
def debian_build(tmp_path_factory):
    """dpkg-buildpackage -b on a copy of the tree: {dir, deb, changes, log}."""
    need_tool("dpkg-buildpackage", "dpkg-dev")
    need_tool("dh", "debhelper")
    base = tmp_path_factory.mktemp("deb")
    src = base / "bgplb"
    for f in tree_files():
        if not os.path.lexists(os.path.join(TOP, f)):
            continue            # deleted, not yet committed
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.join(TOP, f), src / f, follow_symlinks=False)
    env = dict(os.environ, DEB_BUILD_OPTIONS="parallel=2")
    r = subprocess.run(["dpkg-buildpackage", "-b", "-us", "-uc"], cwd=src, env=env,
                       capture_output=True, text=True, timeout=900)
    (base / "build.log").write_text(r.stdout + r.stderr)
    assert r.returncode == 0, f"dpkg-buildpackage failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    debs = [p for p in base.glob("bgplb_*.deb")]
    changes = list(base.glob("bgplb_*.changes"))
    assert len(debs) == 1 and len(changes) == 1, os.listdir(base)
    return {"dir": base, "deb": debs[0], "changes": changes[0]}


@pytest.fixture(scope="session")
def deb_root(debian_build, tmp_path_factory):
    """The package's files, dpkg-deb -x into a directory."""
    root = tmp_path_factory.mktemp("debroot")
    run(["dpkg-deb", "-x", str(debian_build["deb"]), str(root)])
    return root

"""The container image (deploy/build-image.sh): built here from the Debian
package with mmdebstrap and umoci, no registry and no container runtime
needed.  The tests read the OCI layout (entry point, user, tag as the
DaemonSet in deploy/bgplb.yaml expects them), unpack it and run bgplbd and
bgplbctl inside its root filesystem (chroot): --version, --check-config of
the configs the DaemonSet mounts.  Where runc can run a container on this
machine, the image is also run with the DaemonSet's securityContext (only
NET_BIND_SERVICE and NET_RAW, read-only root filesystem, no privilege
escalation), in a network namespace of its own, and asked for its services.

The image step downloads bookworm packages through apt (Debian's mirror):
about a minute.  It skips, loudly, only when mmdebstrap cannot run here.
"""
import json
import os
import shutil
import subprocess
import time

import pytest
import yaml

from pkgutil_bgplb import TOP, need_tool, require_root, run

DEPLOY = os.path.join(TOP, "deploy", "bgplb.yaml")
NETWORK_TROUBLE = ("Failed to fetch", "Could not resolve", "Temporary failure",
                   "Unable to connect", "apt-get update failed", "Network is unreachable")


def deploy_docs():
    with open(DEPLOY) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def daemonset_container():
    ds = next(d for d in deploy_docs() if d["kind"] == "DaemonSet")
    return ds["spec"]["template"]["spec"]["containers"][0]


def configmap(name):
    return next(d for d in deploy_docs()
                if d["kind"] == "ConfigMap" and d["metadata"]["name"] == name)["data"]


@pytest.fixture(scope="module")
def image(debian_build, tmp_path_factory):
    """deploy/build-image.sh --deb (the package built by the session): the
    OCI layout's directory and tag."""
    require_root()
    need_tool("mmdebstrap", "mmdebstrap")
    need_tool("umoci", "umoci")
    out = tmp_path_factory.mktemp("image")
    t0 = time.monotonic()
    r = subprocess.run([os.path.join(TOP, "deploy", "build-image.sh"),
                        "--deb", str(debian_build["deb"]), "--out", str(out)],
                       capture_output=True, text=True, timeout=600)
    print(f"deploy/build-image.sh: {time.monotonic() - t0:.0f} s")
    if r.returncode != 0:
        if any(m in r.stderr for m in NETWORK_TROUBLE):
            pytest.skip("SKIPPED LOUDLY: mmdebstrap cannot download bookworm "
                        "packages here (the Debian mirror is unreachable):\n"
                        + r.stderr[-1500:])
        pytest.fail(f"deploy/build-image.sh failed:\n{r.stdout}\n{r.stderr}")
    version = run(["dpkg-deb", "-f", str(debian_build["deb"]), "Version"]).stdout.strip()
    return {"layout": out / "bgplb", "tag": version}


def blob(layout, digest):
    algo, h = digest.split(":")
    return layout / "blobs" / algo / h


def image_config(image):
    index = json.loads((image["layout"] / "index.json").read_text())
    tags = {m.get("annotations", {}).get("org.opencontainers.image.ref.name"): m
            for m in index["manifests"]}
    assert image["tag"] in tags, index
    manifest = json.loads(blob(image["layout"], tags[image["tag"]]["digest"]).read_text())
    config = json.loads(blob(image["layout"], manifest["config"]["digest"]).read_text())
    return manifest, config


@pytest.fixture(scope="module")
def rootfs(image, tmp_path_factory):
    """umoci unpack: an OCI runtime bundle (config.json + rootfs)."""
    bundle = tmp_path_factory.mktemp("bundle") / "b"
    run(["umoci", "unpack", "--image", f"{image['layout']}:{image['tag']}", str(bundle)])
    return bundle


def test_image_as_the_daemonset_expects(image):
    manifest, config = image_config(image)
    c = daemonset_container()
    # The DaemonSet's image tag is the package's version; its args are the
    # image's CMD with --node and --log-format added.
    assert c["image"].rsplit(":", 1)[1] == image["tag"]
    cfg = config["config"]
    assert cfg["Entrypoint"] == ["/usr/sbin/bgplbd"]
    assert cfg["Cmd"] == ["--config", "/etc/bgplb/bgplbd.yaml"]
    assert c["args"][:2] == cfg["Cmd"]
    # Root, as the DaemonSet runs it (no runAsUser): capabilities come from
    # its securityContext and bgplbd drops the rest.
    assert cfg.get("User") == "0:0"
    assert "runAsUser" not in c.get("securityContext", {})
    assert config["os"] == "linux"
    assert len(manifest["layers"]) == 1
    size = manifest["layers"][0]["size"]
    print(f"image layer: {size / 1e6:.1f} MB compressed")
    assert size < 40e6, "the image should stay small"


def test_rootfs_contents(rootfs):
    r = rootfs / "rootfs"
    for f in ("usr/sbin/bgplbd", "usr/bin/bgplbctl", "etc/passwd"):
        assert (r / f).exists(), f
    for f in ("lib/systemd/system/bgplbd.service", "usr/share/man", "usr/share/doc",
              "var/lib/apt/lists", "bin/bash"):
        assert not (r / f).exists(), f"{f} has no place in the image"
    specials = run(["find", str(r), "-xdev", "(", "-type", "c", "-o", "-type", "b",
                    "-o", "-type", "p", ")"]).stdout.split()
    assert not specials, f"device nodes or fifos in the image: {specials}"


def chroot(rootfs, *args):
    return subprocess.run(["chroot", str(rootfs / "rootfs")] + list(args),
                          capture_output=True, text=True, timeout=60)


def test_version_inside(rootfs, image):
    r = chroot(rootfs, "/usr/sbin/bgplbd", "--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"bgplbd {image['tag']}"
    r = chroot(rootfs, "/usr/bin/bgplbctl", "--help")
    assert r.returncode == 0 and "usage: bgplbctl" in r.stdout, r.stderr


def test_check_config_inside(rootfs):
    """The files the DaemonSet mounts (the daemon's own, and the cluster
    config from the ConfigMap) pass --check-config with the image's bgplbd."""
    etc = rootfs / "rootfs" / "etc" / "bgplb"
    (etc / "bgplbd.yaml").write_text(configmap("bgplb-daemon")["bgplbd.yaml"])
    (etc / "cluster.yaml").write_text(configmap("bgplb")["config"])
    try:
        for f in ("/etc/bgplb/bgplbd.yaml", "/etc/bgplb/cluster.yaml"):
            r = chroot(rootfs, "/usr/sbin/bgplbd", "--check-config", f)
            assert r.returncode == 0, f"{f}: {r.stderr}"
        (etc / "bad.yaml").write_text("pools:\n  - name: x\n    adresses: [192.0.2.0/24]\n")
        r = chroot(rootfs, "/usr/sbin/bgplbd", "--check-config", "/etc/bgplb/bad.yaml")
        assert r.returncode == 1 and 'did you mean "addresses"' in r.stderr, r.stderr
    finally:
        for f in ("bgplbd.yaml", "cluster.yaml", "bad.yaml"):
            (etc / f).unlink(missing_ok=True)


EMBEDDED = """\
node: node-a
state-file: /var/lib/bgplb/state.json
pools:
  - name: web
    addresses: [192.0.2.0/28]
services:
  - name: default/web
"""


def test_runs_in_runc(rootfs, tmp_path):
    """The image as a container, with the DaemonSet's securityContext."""
    require_root()
    runc = shutil.which("runc")
    if runc is None:
        pytest.skip("SKIPPED LOUDLY: no container runtime (Debian package runc; "
                    "tests/run.sh installs it)")
    bundle = tmp_path / "bundle"
    run(["cp", "-a", str(rootfs), str(bundle)])
    conf = json.loads((bundle / "config.json").read_text())
    sc = daemonset_container()["securityContext"]
    caps = ["CAP_" + c for c in sc["capabilities"]["add"]]
    assert sc["capabilities"]["drop"] == ["ALL"]
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "bgplbd.yaml").write_text(EMBEDDED)
    (tmp_path / "state").mkdir()
    p = conf["process"]
    p["terminal"] = False
    p["args"] = ["/usr/sbin/bgplbd", "--config", "/etc/bgplb/bgplbd.yaml",
                 "--node", "node-a", "--log-format", "json"]
    p["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
    p["noNewPrivileges"] = not sc["allowPrivilegeEscalation"]
    conf["root"]["readonly"] = sc["readOnlyRootFilesystem"]
    conf["mounts"] += [
        {"destination": "/etc/bgplb/bgplbd.yaml", "type": "bind",
         "source": str(tmp_path / "etc" / "bgplbd.yaml"), "options": ["rbind", "ro"]},
        {"destination": "/var/lib/bgplb", "type": "bind",
         "source": str(tmp_path / "state"), "options": ["rbind", "rw"]},
    ]
    # The container's own network namespace (the DaemonSet uses the host's):
    # nothing leaves it.  Loopback up, for the status endpoint.
    assert any(n["type"] == "network" for n in conf["linux"]["namespaces"])
    (bundle / "config.json").write_text(json.dumps(conf))

    cid = f"bgplbt{os.getpid()}"
    log = open(tmp_path / "container.log", "w")
    proc = subprocess.Popen([runc, "run", "--bundle", str(bundle), cid],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        text = ""
        while time.monotonic() < deadline:
            text = (tmp_path / "container.log").read_text()
            if "status endpoint on" in text or proc.poll() is not None:
                break
            time.sleep(0.2)
        if proc.poll() is not None and "status endpoint on" not in text:
            if "cgroup" in text.lower() and "bgplbd" not in text:
                pytest.skip("SKIPPED LOUDLY: runc cannot run a container on this "
                            "machine: " + text[-500:])
            pytest.fail(f"the container exited {proc.returncode}:\n{text}")
        assert "status endpoint on" in text, text
        assert "kept cap_net_bind_service cap_net_raw" in text, text
        # bgplbctl in the same container (its network namespace).
        r = subprocess.run([runc, "exec", cid, "/usr/bin/bgplbctl", "services"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "default/web" in r.stdout and "192.0.2." in r.stdout, r.stdout
        # Only the two capabilities, in every set (read from the host).
        pid = json.loads(run([runc, "state", cid]).stdout)["pid"]
        sets = dict(line.split(":\t") for line in open(f"/proc/{pid}/status")
                    if line.startswith("Cap"))
        for k in ("CapEff", "CapPrm", "CapBnd"):
            assert int(sets[k], 16) == 0x2400, sets
        run([runc, "kill", cid, "TERM"])
        assert proc.wait(timeout=20) == 0, (tmp_path / "container.log").read_text()
        assert (tmp_path / "state" / "state.json").exists()
    finally:
        if proc.poll() is None:
            subprocess.run([runc, "kill", cid, "KILL"], capture_output=True)
            proc.wait(timeout=10)
        subprocess.run([runc, "delete", "--force", cid], capture_output=True)
        log.close()

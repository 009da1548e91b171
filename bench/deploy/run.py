"""New version visible -> serving: the time from `LATEST` written to the new version answering
`/predict`, for a ~12 MB bundle, from a local directory and over SSH (a real sshd on loopback).

A benchmark, never a test (DESIGN section 8: "new version visible -> serving: <= 2 s for a 12 MB
bundle from a local or LAN source, no conversion").

    python bench/deploy/run.py [--bin target/release/litecnn] [--runs 5] [--every 250ms]

One `litecnn serve --watch SOURCE` per source, on an empty store. For each run a new version of
the bundle (torchvision mobilenet_v3_small with random weights, 12.6 MB, published once into
$LITECNN_CACHE/bench-http by bench/http/run.py's helper) is written into the repository the way
the publisher writes it (bundle directory, then LATEST by rename); the clock starts right after
that rename and stops at the first `/predict` answer carrying the new `X-Model-Version`. The
per-step durations come from the deployer's own record (`litecnn history --json`); "notice" is
what is left: the time to notice the change (change events locally; the `--every` poll over
SSH, which has no events) plus the server's load-and-swap of the promoted bundle.

Needs: a release build of litecnn, openssh-server (`/usr/sbin/sshd`, as the tests), and the
Python that bench/http/run.py uses (torch and the publisher) when the bundle is not cached yet.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent / "http"))
import run as http_bench  # noqa: E402  (the sibling benchmark's cached bundle and photo)

STEPS = ("detect", "fetch", "verify", "gate", "promote")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def publish(repo: Path, bundle: Path, version: str) -> float:
    """Writes `bundle` as `version` (manifest version and SHA256SUMS rewritten, so each run is
    a new digest), then LATEST by rename; returns the clock right after the rename."""
    target = repo / version
    shutil.copytree(bundle, target)
    manifest_path = target / "litecnn.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["version"] = version
    manifest_path.write_text(json.dumps(manifest, indent=2))
    lines = []
    for name in sorted(p.name for p in target.iterdir() if p.name != "SHA256SUMS"):
        lines.append(f"{hashlib.sha256((target / name).read_bytes()).hexdigest()}  {name}\n")
    (target / "SHA256SUMS").write_text("".join(lines))
    tmp = repo / "LATEST.tmp"
    tmp.write_text(version + "\n")
    os.rename(tmp, repo / "LATEST")
    return time.perf_counter()


def serving_version(port: int, image: bytes) -> str | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/predict", body=image, headers={"Content-Type": "image/jpeg"})
        response = conn.getresponse()
        response.read()
        return response.getheader("X-Model-Version") if response.status == 200 else None
    except OSError:
        return None
    finally:
        conn.close()


def wait_serving(port: int, image: bytes, version: str, timeout: float = 120) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if serving_version(port, image) == version:
            return time.perf_counter()
        time.sleep(0.002)
    raise SystemExit(f"error: {version} was not served within {timeout:.0f} s")


def start_server(binary: str, store: Path, source: str, extra: list[str]) -> tuple:
    port = free_port()
    cmd = [binary, "serve", "--port", str(port), "--store", str(store), "--watch", source]
    log = open(store.parent / f"serve-{port}.log", "w")  # noqa: SIM115 (closed with the server)
    env = dict(os.environ, XDG_CONFIG_HOME=str(store.parent / "config"))
    proc = subprocess.Popen([*cmd, *extra], stdout=log, stderr=subprocess.STDOUT, env=env)
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port, log
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"error: litecnn serve did not listen; see {log.name}")


def last_row(binary: str, store: Path) -> dict:
    out = subprocess.run(
        [binary, "history", "--json", "--limit", "1", "--store", str(store)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)[0]


def start_sshd(work: Path) -> tuple:
    """sshd on a free loopback port with its own host key and one authorized client key."""
    for name in ("host", "client"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / name)], check=True
        )
    shutil.copy(work / "client.pub", work / "authorized_keys")
    port = free_port()
    (work / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {work}/host\nPidFile {work}/sshd.pid\n"
        f"AuthorizedKeysFile {work}/authorized_keys\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
        "Subsystem sftp internal-sftp\n"
    )
    host_key = " ".join((work / "host.pub").read_text().split()[:2])
    (work / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key}\n")
    os.makedirs("/run/sshd", exist_ok=True)
    proc = subprocess.Popen(
        ["/usr/sbin/sshd", "-D", "-e", "-f", str(work / "sshd_config")],
        stderr=open(work / "sshd.log", "w"),  # noqa: SIM115
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("error: sshd did not start")


def measure(name: str, binary: str, bundle: Path, image: bytes, runs: int, work: Path, source_of):
    """`source_of(repo)` gives SOURCE and extra flags; returns one dict per run."""
    repo, store = work / name / "repo" / "model", work / name / "store"
    repo.mkdir(parents=True)
    source, extra = source_of(repo)
    proc, port, log = start_server(binary, store, source, extra)
    rows = []
    try:
        publish(repo, bundle, f"{name}-warmup")
        wait_serving(port, image, f"{name}-warmup")
        for i in range(runs):
            version = f"{name}-run{i}"
            t0 = publish(repo, bundle, version)
            t1 = wait_serving(port, image, version)
            row = last_row(binary, store)
            steps = {s["name"]: s["ms"] for s in row["steps"]}
            total = (t1 - t0) * 1e3
            rows.append({"total": total, **steps, "notice": total - sum(steps.values())})
            print(
                f"{name:6} run {i}: {total:7.0f} ms  "
                + "  ".join(f"{k} {steps.get(k, 0):6.1f}" for k in STEPS)
                + f"  notice+swap {rows[-1]['notice']:6.0f}",
                flush=True,
            )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / "target/release/litecnn"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--every", default="250ms", help="poll interval of the SSH watcher")
    args = ap.parse_args()
    cache = http_bench.cache_dir()
    bundle = http_bench.mobilenet_bundle(cache)
    size = sum(p.stat().st_size for p in bundle.iterdir())
    image = http_bench.photo_jpeg(cache).read_bytes()
    print(f"bundle: {bundle} ({size / 1e6:.1f} MB); binary: {args.bin}")
    work = Path(tempfile.mkdtemp(prefix="litecnn-bench-deploy-"))
    sshd = None
    try:
        results = {
            "local": measure(
                "local",
                args.bin,
                bundle,
                image,
                args.runs,
                work,
                lambda repo: (str(repo), ["--every", "1h"]),
            ),
        }
        keys = work / "ssh-keys"
        keys.mkdir()
        sshd, ssh_port = start_sshd(keys)
        user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
        results["ssh"] = measure(
            "ssh",
            args.bin,
            bundle,
            image,
            args.runs,
            work,
            lambda repo: (
                f"ssh://{user}@127.0.0.1:{ssh_port}{repo}",
                [
                    "--every",
                    args.every,
                    "--ssh-key",
                    str(keys / "client"),
                    "--known-hosts",
                    str(keys / "known_hosts"),
                ],
            ),
        )
        print("\nmedian over runs (ms):")
        print(f"{'source':6} {'total':>7} " + " ".join(f"{k:>8}" for k in (*STEPS, "notice+swap")))
        for name, rows in results.items():
            med = {k: statistics.median(r.get(k, 0) for r in rows) for k in rows[0]}
            cells = " ".join(f"{med.get(k, 0):8.1f}" for k in (*STEPS, "notice"))
            print(f"{name:6} {med['total']:7.0f} {cells}")
    finally:
        if sshd:
            sshd.terminate()
            sshd.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

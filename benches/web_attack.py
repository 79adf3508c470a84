#!/usr/bin/env python3
"""The web server under attack (issue 9, item 2): `web_attack.py EBMBOT [PHASE_SECONDS]`.

Starts `EBMBOT serve` with the default limits in a temp dir, then runs four attacks one after
the other, each for a phase (default 40 s: longer than the 30 s request timeout, so attackers
are cut off and come back at least once):

1. `unsigned`: twenty connections, each a 26 MB body without a signature header holding back
   its last byte (the attack as reported; it took `serve` to 512 MB before the fix);
2. `forged`: the same with a signature header that looks right and is not, so the body must be
   read to be refused;
3. `forged-chunked`: twenty forged bodies without `Content-Length` (chunked), 26 MB each;
4. `connections`: 600 connections sending half their headers (past the 512 cap), plus the
   twenty forged bodies.

Attackers reconnect as soon as they are cut off. All along, a signed delivery that schedules a
job is sent every 250 ms on a connection of its own. Reports, per phase, `serve`'s peak resident
memory (VmRSS sampled every 10 ms) and the signed deliveries sent, answered 200 "scheduled",
answered within GitHub's 10 s, and their latency. docs/benchmarks.md has the figures.
"""
import asyncio
import hashlib
import hmac
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

SECRET = b"bench-secret"
BODY = 26_000_000
ATTACKERS = 20
FORGED = "sha256=" + "0" * 64
JOBS = """
[bench]
github_repository = "acme/bench"
[bench.jobs.build]
run_args_template = "true {sha}"
[[bench.github]]
event = "push"
job_type = "build"
params = { sha = "/after" }
"""


def rss_kb(pid, field="VmRSS"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


async def attack(host, port, signature, chunked, chunk):
    """One attacker: headers, all of the body but its last byte, then hold until closed."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return
    try:
        sig = f"X-Hub-Signature-256: {signature}\r\n" if signature else ""
        length = "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {BODY}\r\n"
        writer.write(
            (
                "POST /github/bench/ HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\n"
                f"X-GitHub-Delivery: attack\r\nContent-Type: application/json\r\n{sig}{length}\r\n"
            ).encode()
        )
        left = BODY - 1
        while left > 0:
            n = min(left, len(chunk))
            if chunked:
                writer.write(b"%x\r\n" % n + chunk[:n] + b"\r\n")
            else:
                writer.write(chunk[:n])
            await writer.drain()
            left -= n
        while await reader.read(4096):
            pass
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def half_headers(host, port):
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"POST /github/bench/ HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()
        while await reader.read(512):
            pass
        writer.close()
    except OSError:
        pass


async def forever(make):
    while True:
        await make()
        await asyncio.sleep(0.05)


async def signed_delivery(host, port, n):
    body = b'{"ref": "refs/heads/main", "after": "%040x", "repository": {"full_name": "acme/bench"}}' % n
    sig = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    head = (
        "POST /github/bench/ HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\n"
        f"X-GitHub-Delivery: signed-{n}\r\nContent-Type: application/json\r\n"
        f"X-Hub-Signature-256: {sig}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    started = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 60)
        writer.write(head + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 60)
        writer.close()
    except (OSError, asyncio.TimeoutError) as e:
        return None, repr(e)
    text = answer.decode(errors="replace")
    if text.startswith("HTTP/1.1 200") and "scheduled" in text:
        return time.monotonic() - started, None
    return None, text.splitlines()[0] if text else "no answer"


async def phase(name, host, port, seconds, serial):
    chunk = b"a" * (1 << 20)
    signature = None if name == "unsigned" else FORGED
    chunked = name == "forged-chunked"
    tasks = [asyncio.create_task(forever(lambda: attack(host, port, signature, chunked, chunk))) for _ in range(ATTACKERS)]
    if name == "connections":
        tasks += [asyncio.create_task(forever(lambda: half_headers(host, port))) for _ in range(600)]
    deliveries = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await asyncio.sleep(0.25)
        serial[0] += 1
        deliveries.append(asyncio.create_task(signed_delivery(host, port, serial[0])))
    results = await asyncio.gather(*deliveries)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return results


def main():
    binary = os.path.abspath(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 40
    work = tempfile.mkdtemp(prefix="ebmbot-attack-")
    with open(os.path.join(work, "jobs.toml"), "w") as f:
        f.write(JOBS)
    os.makedirs(os.path.join(work, "workspace", "bench"))
    env = {"PATH": os.environ.get("PATH", ""), "GITHUB_WEBHOOK_SECRET": SECRET.decode(), "RUST_LOG": "warn"}
    proc = subprocess.Popen(
        [binary, "serve", "--bind", "127.0.0.1:0"], cwd=work, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    addr = None
    for line in proc.stderr:
        m = re.search(r"listening on http://([0-9.]+):([0-9]+)", line)
        if m:
            addr = (m.group(1), int(m.group(2)))
            break
    if not addr:
        sys.exit("ebmbot serve did not start")
    pauses = [0]

    def read_stderr():
        for line in proc.stderr:
            if "wait in the listen backlog" in line:
                pauses[0] += 1

    threading.Thread(target=read_stderr, daemon=True).start()
    time.sleep(1)
    print(f"ebmbot serve (pid {proc.pid}, {binary}) on {addr[0]}:{addr[1]}, default limits; phases of {seconds:.0f} s")
    print(f"idle RSS: {rss_kb(proc.pid) / 1000:.1f} MB")
    print()
    print("| attack | peak RSS of serve | signed deliveries sent | answered 200 | within 10 s | latency p50 / max |")
    print("|---|---|---|---|---|---|")
    serial = [0]
    for name in ["unsigned", "forged", "forged-chunked", "connections"]:
        peak = [0]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], rss_kb(proc.pid))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        results = asyncio.run(phase(name, addr[0], addr[1], seconds, serial))
        stop.set()
        sampler.join()
        ok = sorted(r for r, _ in results if r is not None)
        errors = sorted({e for _, e in results if e})
        within = sum(1 for r in ok if r <= 10)
        p50 = f"{ok[len(ok) // 2] * 1000:.0f} ms" if ok else "-"
        mx = f"{ok[-1] * 1000:.0f} ms" if ok else "-"
        print(f"| {name} | {peak[0] / 1000:.1f} MB | {len(results)} | {len(ok)} | {within} | {p50} / {mx} |")
        if errors:
            print(f"|   | failures: {'; '.join(errors)[:300]} | | | | |")
        time.sleep(2)
    print()
    print(f"peak RSS over the whole run (VmHWM): {rss_kb(proc.pid, 'VmHWM') / 1000:.1f} MB; "
          f"accept-loop pauses logged: {pauses[0]}")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Measures how many synced writes per second the disk under DIR sustains
# (default: the current directory): the ceiling for any write path that
# syncs once per commit. Two figures: fsync after appending 4 KiB (the file
# grows, so the journal commits metadata too) and fdatasync after
# rewriting 4 KiB in a preallocated file (what a WAL with preallocation,
# like RocksDB's, pays). Usage: scripts/bench/fsync-probe.sh [DIR] [SECONDS]
set -euo pipefail
dir=${1:-.}
secs=${2:-3}
python3 - "$dir" "$secs" <<'PY'
import os, sys, time
path = os.path.join(sys.argv[1], ".veritrace-fsync-probe")
secs = float(sys.argv[2])

def run(label, prepare, step):
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
    try:
        prepare(fd)
        n, start = 0, time.time()
        while time.time() - start < secs:
            step(fd, n)
            n += 1
        dt = time.time() - start
    finally:
        os.close(fd)
        os.unlink(path)
    print(f"fsync-probe: {label}: {n / dt:.0f}/s ({dt / n * 1e3:.3f} ms each), dir {sys.argv[1]}")

block = b"x" * 4096
run("append 4 KiB + fsync", lambda fd: None, lambda fd, n: (os.write(fd, block), os.fsync(fd)))
run("overwrite 4 KiB in preallocated file + fdatasync",
    lambda fd: (os.posix_fallocate(fd, 0, 64 << 20), os.fsync(fd)),
    lambda fd, n: (os.pwrite(fd, block, (n * 4096) % (64 << 20)), os.fdatasync(fd)))
PY

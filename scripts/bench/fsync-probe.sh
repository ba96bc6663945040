#!/usr/bin/env bash
# Measures how many append+fsync rounds per second the disk under DIR
# sustains (default: the current directory): the ceiling for any write path
# that fsyncs once per commit. Usage: scripts/bench/fsync-probe.sh [DIR] [SECONDS]
set -euo pipefail
dir=${1:-.}
secs=${2:-3}
python3 - "$dir" "$secs" <<'PY'
import os, sys, time
path = os.path.join(sys.argv[1], ".veritrace-fsync-probe")
secs = float(sys.argv[2])
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
n, start = 0, time.time()
try:
    while time.time() - start < secs:
        os.write(fd, b"x" * 4096)
        os.fsync(fd)
        n += 1
finally:
    os.close(fd)
    os.unlink(path)
dt = time.time() - start
print(f"fsync-probe: {n / dt:.0f} fsync/s (4 KiB append + fsync), {dt / n * 1e3:.2f} ms each, dir {sys.argv[1]}")
PY

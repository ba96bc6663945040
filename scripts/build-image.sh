#!/usr/bin/env bash
# Builds the Veritrace container image locally (no registry, no base
# image): the release binary, the shared libraries it links and a static
# busybox, staged into a root filesystem and packed FROM scratch
# (deploy/docker/Dockerfile).
#
#   scripts/build-image.sh                      # release build, tags veritrace:VERSION and veritrace:latest
#   scripts/build-image.sh --binary PATH        # pack an existing binary instead (CI packs its test build)
#   scripts/build-image.sh --tag NAME:TAG       # another tag (repeatable)
#
# Prints the image's tags, size and `veritrace --version` from inside it.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=""
tags=()
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --tag) tags+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "build-image: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
[ ${#tags[@]} -gt 0 ] || tags=("veritrace:$version" "veritrace:latest")

command -v docker >/dev/null || { echo "build-image: docker is not installed" >&2; exit 1; }
# busybox for the setup steps and health checks: Debian's static build.
if ! [ -x /bin/busybox ] || ! file -L /bin/busybox 2>/dev/null | grep -q "statically linked"; then
  if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed"; then
    [ "$(id -u)" -eq 0 ] || { echo "build-image: needs busybox-static (sudo apt-get install busybox-static)" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static file >/dev/null
  fi
fi

if [ -z "$binary" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/veritrace/target}"
  # The same build the benchmarks use (every binary of the workspace
  # together), so the two share one RocksDB compile.
  echo "build-image: cargo build --release (the first one compiles RocksDB: ~20 min on 2 cores)"
  VERITRACE_GIT_REVISION=$revision cargo build --locked --release --workspace --bins
  binary="$CARGO_TARGET_DIR/release/veritrace"
fi
[ -x "$binary" ] || { echo "build-image: no executable at $binary" >&2; exit 1; }

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
root=$ctx/rootfs
mkdir -p "$root/usr/local/bin" "$root/bin" "$root/etc" "$root/tmp" "$ctx/state"
chmod 1777 "$root/tmp"
chmod 0700 "$ctx/state"
install -m 0755 "$binary" "$root/usr/local/bin/veritrace"
# Debug info out (symbols stay, so a panic's backtrace names functions).
strip --strip-debug "$root/usr/local/bin/veritrace"
# The binary's shared libraries and the dynamic loader, at their paths.
ldd "$binary" | awk '/=> \// { print $3 } /^[ \t]*\/[^ ]+ \(/ { print $1 }' | sort -u | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
install -m 0755 "$(readlink -f /bin/busybox)" "$root/bin/busybox"
for applet in sh wget cat cp mv rm ls mkdir touch sed sleep test echo; do ln -s busybox "$root/bin/$applet"; done
printf 'root:x:0:0:root:/:/bin/sh\nveritrace:x:10001:10001:Veritrace node:/var/lib/veritrace:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nveritrace:x:10001:\n' > "$root/etc/group"
cp deploy/docker/Dockerfile "$ctx/Dockerfile"

tag_args=()
for t in "${tags[@]}"; do tag_args+=(-t "$t"); done
docker build -q --build-arg "VERSION=$version" --build-arg "REVISION=$revision" "${tag_args[@]}" "$ctx" >/dev/null
# The images this tag replaced: dangling now, removed (CI rebuilds on every run).
docker image prune -f --filter "label=org.opencontainers.image.title=veritrace" >/dev/null
size=$(docker image inspect -f '{{.Size}}' "${tags[0]}")
echo "build-image: ${tags[*]} ($((size / 1024 / 1024)) MiB, non-root uid $(docker image inspect -f '{{.Config.User}}' "${tags[0]}"))"
docker run --rm "${tags[0]}" --version

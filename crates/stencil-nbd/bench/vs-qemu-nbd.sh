#!/usr/bin/env bash
# Throughput of stencil-nbd (examples/memserve, a filled MemDevice) against qemu-nbd (-f raw over
# a file in tmpfs), measured with qemu-img convert: reads (nbd -> file) and writes (file -> nbd).
#
#   cargo build --release -p stencil-nbd --example memserve
#   MEMSERVE=target/release/examples/memserve crates/stencil-nbd/bench/vs-qemu-nbd.sh
#
# Env: SIZE_MIB (1024), DIR for source and qemu-nbd's disk (/dev/shm/nbdbench), OUT for the read
# output (DIR), ROUNDS (3). Ratio = stencil-nbd throughput / qemu-nbd throughput.
set -euo pipefail
MEMSERVE=${MEMSERVE:-target/release/examples/memserve}
SIZE_MIB=${SIZE_MIB:-1024}
DIR=${DIR:-/dev/shm/nbdbench}
OUT=${OUT:-$DIR}
ROUNDS=${ROUNDS:-3}
P1=${P1:-20811}
P2=${P2:-20812}
mkdir -p "$DIR" "$OUT"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$DIR" "$OUT/out.raw"
}
trap cleanup EXIT
head -c $((SIZE_MIB << 20)) /dev/urandom >"$DIR/src.raw"
cp "$DIR/src.raw" "$DIR/qemu-disk.raw"
"$MEMSERVE" --port "$P1" --size-mib "$SIZE_MIB" --name d --fill 2>/dev/null &
pids+=($!)
qemu-nbd -f raw -t -b 127.0.0.1 -p "$P2" -x d "$DIR/qemu-disk.raw" &
pids+=($!)
for _ in $(seq 100); do
  qemu-img info "nbd://127.0.0.1:$P1/d" >/dev/null 2>&1 && qemu-img info "nbd://127.0.0.1:$P2/d" >/dev/null 2>&1 && break
  sleep 0.2
done

seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
mibs() { printf '%.0f' "$(echo "$SIZE_MIB / $1" | bc -l)"; }

printf '%-18s %16s %16s %7s\n' test stencil-nbd qemu-nbd ratio
for round in $(seq "$ROUNDS"); do
  for kind in read write; do
    declare -A secs
    for port in "$P1" "$P2"; do
      url="nbd://127.0.0.1:$port/d"
      if [ "$kind" = read ]; then
        secs[$port]=$(seconds qemu-img convert -f raw -O raw "$url" "$OUT/out.raw")
        rm -f "$OUT/out.raw"
      else
        secs[$port]=$(seconds qemu-img convert -n -f raw -O raw "$DIR/src.raw" "$url")
      fi
    done
    printf '%-18s %10s MiB/s %10s MiB/s %7.2f\n' "$kind #$round" "$(mibs "${secs[$P1]}")" \
      "$(mibs "${secs[$P2]}")" "$(echo "${secs[$P2]} / ${secs[$P1]}" | bc -l)"
  done
done

# shellcheck shell=bash
# Test infrastructure for the scale-out work (issue 8): a throwaway PostgreSQL cluster and a
# 3-node Garage (S3) cluster on loopback. Source this file, then call:
#
#   install_garage               garage 2.5.0 at ${STENCIL_TOOL_CACHE:-~/.cache/stencil-tools}/garage/bin,
#                                built with `cargo install` only when missing (10+ minutes)
#   start_postgres DIR           PostgreSQL on a free loopback port, fsync=off; exports
#                                STENCIL_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/postgres
#   start_garage_cluster DIR     3 nodes (zones dc1..dc3, replication 3), buckets and a key; exports
#                                STENCIL_TEST_S3_{ENDPOINT,ENDPOINTS,REGION,ACCESS_KEY_ID,
#                                SECRET_ACCESS_KEY,BUCKET,IMAGE_BUCKET} and STENCIL_TEST_GARAGE_DIR
#   garage_stop_node K [GRACE]   stops node K (1..3): SIGTERM, SIGKILL after GRACE s (15)
#   garage_start_node K          starts node K again and waits until it serves S3
#   stop_scaleout                stops everything started here (for `trap stop_scaleout EXIT`)
#
# Each DIR must be new or empty; the postgres user must be able to reach its DIR (o+x parents).
# Every function returns non-zero with an "[scaleout] ERROR: ..." line on failure (never exits
# the calling shell). Logs: DIR/server.log for PostgreSQL, DIR/nK/garage.log per Garage node.
# Node K's config is DIR/nK/garage.toml and its pid DIR/nK/pid, so a fault test can also do
# `kill $(cat DIR/n2/pid)` itself and later `garage_start_node 2`.

STENCIL_GARAGE_VERSION=2.5.0

_so_log() { printf '[scaleout] %s\n' "$*" >&2; }
_so_err() {
  printf '[scaleout] ERROR: %s\n' "$*" >&2
  return 1
}
# Seconds since START ($EPOCHREALTIME), two decimals.
_so_since() {
  local a=${1//[.,]/} b=${EPOCHREALTIME//[.,]/}
  local us=$((10#$b - 10#$a))
  printf '%d.%02d' $((us / 1000000)) $((us % 1000000 / 10000))
}

# Prints N distinct free TCP ports on 127.0.0.1, one a line.
_so_free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
EOF
}

# _so_wait SECONDS WHAT CMD...: runs CMD until it succeeds; after SECONDS, fails naming WHAT and
# showing CMD's last output.
_so_wait() {
  local timeout=$1 what=$2 out
  shift 2
  local deadline=$((SECONDS + timeout))
  while true; do
    if out=$("$@" 2>&1); then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      _so_err "timed out after ${timeout}s waiting for $what; last output of '$*':"
      printf '%s\n' "$out" | tail -n 20 >&2
      return 1
    fi
    sleep 0.2
  done
}

_so_tool_root() { printf '%s/garage' "${STENCIL_TOOL_CACHE:-$HOME/.cache/stencil-tools}"; }

# ---------------------------------------------------------------------------------------------
# garage

install_garage() {
  local t0=$EPOCHREALTIME root bin
  root=$(_so_tool_root)
  bin=$root/bin/garage
  mkdir -p "$root" || return 1
  if ! [[ -x $bin ]]; then
    # One build at a time, even with two test runs starting together.
    local lock_fd
    exec {lock_fd}>"$root/.install.lock" || return 1
    if ! flock -n "$lock_fd"; then
      _so_log "another garage install is running: waiting for $root/.install.lock"
    fi
    if ! flock -w 3600 "$lock_fd"; then
      exec {lock_fd}>&-
      _so_err "another garage install held $root/.install.lock for an hour"
      return 1
    fi
    if ! [[ -x $bin ]]; then
      local target log=$root/install.log
      target=$(mktemp -d "${TMPDIR:-/tmp}/stencil-garage-build.XXXXXX") || return 1
      _so_log "building garage $STENCIL_GARAGE_VERSION (10+ minutes; log $log; build dir $target)"
      if ! CARGO_TARGET_DIR=$target nice cargo install garage --version "$STENCIL_GARAGE_VERSION" \
        --locked --root "$root" >"$log" 2>&1; then
        rm -rf "$target"
        exec {lock_fd}>&-
        tail -n 30 "$log" >&2
        _so_err "cargo install garage failed; see $log"
        return 1
      fi
      rm -rf "$target"
    fi
    exec {lock_fd}>&-
  fi
  local version
  if ! version=$("$bin" --version 2>&1) || [[ $version != *"$STENCIL_GARAGE_VERSION"* ]]; then
    _so_err "$bin is not garage $STENCIL_GARAGE_VERSION (it says: $version); delete it to rebuild"
    return 1
  fi
  case ":$PATH:" in
    *":$root/bin:"*) ;;
    *) export PATH="$root/bin:$PATH" ;;
  esac
  export STENCIL_GARAGE_BIN=$bin
  _so_log "garage $STENCIL_GARAGE_VERSION ready at $bin ($(_so_since "$t0") s)"
}

_so_garage_bin() {
  if [[ -n ${STENCIL_GARAGE_BIN:-} && -x $STENCIL_GARAGE_BIN ]]; then
    printf '%s' "$STENCIL_GARAGE_BIN"
  elif [[ -x $(_so_tool_root)/bin/garage ]]; then
    printf '%s' "$(_so_tool_root)/bin/garage"
  elif command -v garage >/dev/null 2>&1; then
    command -v garage
  else
    _so_err "no garage binary: run install_garage first"
  fi
}

# The garage CLI talking to node K (1..3) of the cluster.
_so_g() {
  local k=$1
  shift
  "$_SO_GARAGE" -c "$_SO_GARAGE_DIR/n$k/garage.toml" "$@"
}

# True when node K's pid file names a live garage process.
_so_node_running() {
  local pidfile=$_SO_GARAGE_DIR/n$1/pid pid cmd
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  # A zombie or a reused pid is not the node.
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) && [[ $cmd == *"n$1/garage.toml"* ]]
}

_so_start_node_process() {
  local k=$1 dir=$_SO_GARAGE_DIR/n$1
  if _so_node_running "$k"; then
    _so_err "garage node $k is already running (pid $(<"$dir/pid"))"
    return 1
  fi
  # setsid: the node must not see the terminal's Ctrl-C before stop_scaleout does.
  RUST_LOG=${RUST_LOG_GARAGE:-garage=info} setsid "$_SO_GARAGE" -c "$dir/garage.toml" server \
    >>"$dir/garage.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  disown $! 2>/dev/null || true
}

# A signed S3 PUT, GET, DELETE of a small object through ENDPOINT.
_so_s3_probe() {
  local ep=$1 key=.stencil-probe-$RANDOM$RANDOM body got
  body="probe $key $EPOCHREALTIME"
  local curl=(curl -sS -f --max-time 5 --aws-sigv4 "aws:amz:garage:s3"
    --user "$STENCIL_TEST_S3_ACCESS_KEY_ID:$STENCIL_TEST_S3_SECRET_ACCESS_KEY"
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
  local url=$ep/$STENCIL_TEST_S3_BUCKET/$key
  "${curl[@]}" -X PUT --data-binary "$body" "$url" >/dev/null || return 1
  got=$("${curl[@]}" "$url") || return 1
  [[ $got == "$body" ]] || {
    echo "GET returned '$got', PUT '$body'"
    return 1
  }
  "${curl[@]}" -X DELETE "$url" >/dev/null
}

# Waits until node K answers the CLI (its RPC is up).
_so_wait_node_rpc() {
  _so_wait "${2:-30}" "garage node $1 to answer RPC (log $_SO_GARAGE_DIR/n$1/garage.log)" \
    _so_g "$1" status
}

start_garage_cluster() {
  local dir=${1:?usage: start_garage_cluster DIR}
  local t0=$EPOCHREALTIME t
  _SO_GARAGE=$(_so_garage_bin) || return 1
  mkdir -p "$dir" || return 1
  dir=$(cd "$dir" && pwd) || return 1
  if [[ -n ${_SO_GARAGE_DIR:-} ]] && _so_node_running 1; then
    _so_err "a garage cluster is already running in $_SO_GARAGE_DIR"
    return 1
  fi
  if [[ -e $dir/n1/meta ]]; then
    _so_err "$dir already holds a garage cluster: give start_garage_cluster a new directory"
    return 1
  fi
  _SO_GARAGE_DIR=$dir
  local ports secret k
  mapfile -t ports < <(_so_free_ports 9) || return 1
  ((${#ports[@]} == 9)) || {
    _so_err "could not find free ports"
    return 1
  }
  secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))') || return 1
  for k in 1 2 3; do
    local n=$dir/n$k s3=${ports[(k - 1) * 3]} rpc=${ports[(k - 1) * 3 + 1]} admin=${ports[(k - 1) * 3 + 2]}
    mkdir -p "$n/meta" "$n/data" || return 1
    cat >"$n/garage.toml" <<EOF
metadata_dir = "$n/meta"
data_dir = "$n/data"
db_engine = "sqlite"
replication_factor = 3
compression_level = "none"
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$secret"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$admin"
admin_token = "stencil-test-admin-token"
EOF
    echo "http://127.0.0.1:$s3" >"$n/s3-endpoint"
  done

  t=$EPOCHREALTIME
  for k in 1 2 3; do
    _so_start_node_process "$k" || return 1
  done
  for k in 1 2 3; do
    _so_wait_node_rpc "$k" 30 || {
      tail -n 20 "$dir/n$k/garage.log" >&2
      return 1
    }
  done
  _so_log "garage: 3 nodes up ($(_so_since "$t") s)"

  t=$EPOCHREALTIME
  local ids=() id
  for k in 1 2 3; do
    id=$(_so_g "$k" node id -q 2>/dev/null) || {
      _so_err "cannot read the id of garage node $k"
      return 1
    }
    ids+=("$id")
  done
  for k in 2 3; do
    _so_wait 30 "garage node 1 to connect to node $k" _so_g 1 node connect "${ids[k - 1]}" || return 1
  done
  for k in 1 2 3; do
    _so_wait 30 "garage to assign node $k to zone dc$k" \
      _so_g 1 layout assign -z "dc$k" -c 1G "${ids[k - 1]%%@*}" || return 1
  done
  _so_wait 30 "garage to apply layout version 1" _so_g 1 layout apply --version 1 || return 1
  _so_log "garage: connected and laid out ($(_so_since "$t") s)"

  t=$EPOCHREALTIME
  local chunks=stencil-chunks images=stencil-images keyinfo
  # Bucket creation retries while the new layout reaches every node.
  _so_wait 60 "garage to create bucket $chunks" _so_g 1 bucket create "$chunks" || return 1
  _so_wait 30 "garage to create bucket $images" _so_g 1 bucket create "$images" || return 1
  keyinfo=$(_so_g 1 key create stencil-test 2>&1) || {
    _so_err "garage key create failed: $keyinfo"
    return 1
  }
  local key_id secret_key
  key_id=$(awk '/^Key ID:/ {print $3}' <<<"$keyinfo")
  secret_key=$(awk '/^Secret key:/ {print $3}' <<<"$keyinfo")
  if [[ $key_id != GK* || -z $secret_key ]]; then
    _so_err "cannot parse the output of garage key create: $keyinfo"
    return 1
  fi
  for b in "$chunks" "$images"; do
    _so_wait 30 "garage to allow the key on $b" \
      _so_g 1 bucket allow --read --write --owner "$b" --key "$key_id" || return 1
  done

  local endpoints=()
  for k in 1 2 3; do
    endpoints+=("$(<"$dir/n$k/s3-endpoint")")
  done
  export STENCIL_TEST_GARAGE_DIR=$dir
  export STENCIL_TEST_S3_ENDPOINT=${endpoints[0]}
  export STENCIL_TEST_S3_ENDPOINTS="${endpoints[*]}"
  export STENCIL_TEST_S3_REGION=garage
  export STENCIL_TEST_S3_ACCESS_KEY_ID=$key_id
  export STENCIL_TEST_S3_SECRET_ACCESS_KEY=$secret_key
  export STENCIL_TEST_S3_BUCKET=$chunks
  export STENCIL_TEST_S3_IMAGE_BUCKET=$images
  # The same settings as a file, for a shell that did not source this one.
  {
    for v in GARAGE_DIR S3_ENDPOINT S3_ENDPOINTS S3_REGION S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY \
      S3_BUCKET S3_IMAGE_BUCKET; do
      local name=STENCIL_TEST_$v
      printf 'export %s=%q\n' "$name" "${!name}"
    done
  } >"$dir/env"

  for k in 1 2 3; do
    _so_wait 60 "S3 PUT/GET through garage node $k (${endpoints[k - 1]})" \
      _so_s3_probe "${endpoints[k - 1]}" || return 1
  done
  _so_log "garage: buckets, key and S3 PUT/GET on every node ($(_so_since "$t") s)"
  _so_log "garage cluster ready in $(_so_since "$t0") s: $STENCIL_TEST_S3_ENDPOINTS (env: $dir/env)"
}

garage_stop_node() {
  local k=${1:?usage: garage_stop_node K [GRACE_SECONDS]} grace=${2:-15}
  local t0=$EPOCHREALTIME dir=${_SO_GARAGE_DIR:-${STENCIL_TEST_GARAGE_DIR:-}}
  [[ -n $dir ]] || {
    _so_err "no garage cluster started"
    return 1
  }
  _SO_GARAGE_DIR=$dir
  if ! _so_node_running "$k"; then
    _so_log "garage node $k is not running"
    return 0
  fi
  local pid
  pid=$(<"$dir/n$k/pid")
  kill "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + grace))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      _so_log "garage node $k (pid $pid) still running ${grace} s after SIGTERM: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
      break
    fi
    sleep 0.1
  done
  _so_log "garage node $k stopped ($(_so_since "$t0") s)"
}

garage_start_node() {
  local k=${1:?usage: garage_start_node K}
  local t0=$EPOCHREALTIME dir=${_SO_GARAGE_DIR:-${STENCIL_TEST_GARAGE_DIR:-}}
  [[ -n $dir ]] || {
    _so_err "no garage cluster started"
    return 1
  }
  _SO_GARAGE_DIR=$dir
  _SO_GARAGE=${_SO_GARAGE:-$(_so_garage_bin)} || return 1
  _so_start_node_process "$k" || return 1
  _so_wait_node_rpc "$k" 30 || return 1
  # A restarted node redials its peers only every ~10 s; dial the running ones now.
  local j id
  for j in 1 2 3; do
    if ((j != k)) && _so_node_running "$j" && id=$(_so_g "$j" node id -q 2>/dev/null); then
      _so_g "$k" node connect "$id" >/dev/null 2>&1 || true
    fi
  done
  _so_wait 60 "S3 PUT/GET through restarted garage node $k" \
    _so_s3_probe "$(<"$dir/n$k/s3-endpoint")" || return 1
  _so_log "garage node $k started again ($(_so_since "$t0") s)"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL

_so_pg_bin() {
  local d
  if [[ -n ${STENCIL_PG_BIN:-} ]]; then
    printf '%s' "$STENCIL_PG_BIN"
    return
  fi
  for d in /usr/lib/postgresql/15/bin $(printf "%s\n" /usr/lib/postgresql/*/bin | sort -V -r); do
    if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
      printf '%s' "$d"
      return
    fi
  done
  return 1
}

# Runs a PostgreSQL binary as the postgres user (it refuses to run as root), from DIR.
_so_as_postgres() {
  local cwd=$1
  shift
  if [[ $(id -u) -eq 0 ]]; then
    (cd "$cwd" && runuser -u postgres -- "$@")
  else
    (cd "$cwd" && "$@")
  fi
}

start_postgres() {
  local dir=${1:?usage: start_postgres DIR}
  local t0=$EPOCHREALTIME t bin
  if [[ -n ${_SO_PG_DIR:-} ]]; then
    _so_err "PostgreSQL is already running in $_SO_PG_DIR"
    return 1
  fi
  if [[ -e $dir/data ]]; then
    _so_err "$dir already holds a PostgreSQL cluster: give start_postgres a new directory"
    return 1
  fi
  if ! bin=$(_so_pg_bin); then
    t=$EPOCHREALTIME
    _so_log "installing postgresql (apt-get)"
    (apt-get update -qq && apt-get install -y -qq postgresql) >/dev/null || {
      _so_err "apt-get install postgresql failed"
      return 1
    }
    bin=$(_so_pg_bin) || {
      _so_err "postgresql is installed but no initdb was found under /usr/lib/postgresql"
      return 1
    }
    _so_log "postgresql installed ($(_so_since "$t") s)"
  fi
  mkdir -p "$dir" || return 1
  dir=$(cd "$dir" && pwd) || return 1
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres: "$dir" || return 1
    if ! runuser -u postgres -- test -w "$dir"; then
      _so_err "the postgres user cannot write $dir: every parent directory must be searchable (chmod o+x)"
      return 1
    fi
  fi
  local port
  port=$(_so_free_ports 1) || return 1

  t=$EPOCHREALTIME
  if ! _so_as_postgres "$dir" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
    --no-sync >"$dir/initdb.log" 2>&1; then
    tail -n 20 "$dir/initdb.log" >&2
    _so_err "initdb failed; see $dir/initdb.log"
    return 1
  fi
  _so_log "postgres: initdb ($(_so_since "$t") s)"

  t=$EPOCHREALTIME
  local opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off"
  opts+=" -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
  _SO_PG_DIR=$dir # from here on, stop_postgres has something to stop
  _SO_PG_BIN=$bin
  if ! _so_as_postgres "$dir" "$bin/pg_ctl" -D "$dir/data" -o "$opts" -l "$dir/server.log" \
    -w -t 30 start >"$dir/pg_ctl.log" 2>&1; then
    tail -n 20 "$dir/server.log" >&2
    _so_err "PostgreSQL did not start within 30 s; see $dir/server.log"
    return 1
  fi
  export STENCIL_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres
  _so_wait 30 "PostgreSQL on 127.0.0.1:$port to accept queries" \
    psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c 'select 1' || return 1
  printf 'export STENCIL_TEST_POSTGRES_URL=%q\n' "$STENCIL_TEST_POSTGRES_URL" >"$dir/env"
  _so_log "postgres: serving $STENCIL_TEST_POSTGRES_URL (start $(_so_since "$t") s, total $(_so_since "$t0") s)"
}

stop_postgres() {
  [[ -n ${_SO_PG_DIR:-} ]] || return 0
  local t0=$EPOCHREALTIME
  if ! [[ -f $_SO_PG_DIR/data/postmaster.pid ]]; then
    _SO_PG_DIR=
    return 0
  fi
  if ! _so_as_postgres "$_SO_PG_DIR" "$_SO_PG_BIN/pg_ctl" -D "$_SO_PG_DIR/data" -m fast -w -t 30 \
    stop >>"$_SO_PG_DIR/pg_ctl.log" 2>&1; then
    _so_err "pg_ctl stop failed; see $_SO_PG_DIR/pg_ctl.log and $_SO_PG_DIR/server.log"
    return 1
  fi
  _so_log "postgres stopped ($(_so_since "$t0") s)"
  _SO_PG_DIR=
}

# ---------------------------------------------------------------------------------------------

stop_garage_cluster() {
  [[ -n ${_SO_GARAGE_DIR:-} ]] || return 0
  local t0=$EPOCHREALTIME k
  for k in 1 2 3; do
    if _so_node_running "$k"; then
      kill "$(<"$_SO_GARAGE_DIR/n$k/pid")" 2>/dev/null || true
    fi
  done
  for k in 1 2 3; do
    # Garage sometimes waits 8 s for a worker to give up on a peer already gone; the cluster
    # is thrown away, so do not wait for that.
    garage_stop_node "$k" 2 || true
  done
  _so_log "garage cluster stopped ($(_so_since "$t0") s)"
  _SO_GARAGE_DIR=
}

stop_scaleout() {
  local rc=0
  stop_garage_cluster || rc=1
  stop_postgres || rc=1
  return $rc
}

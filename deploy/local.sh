#!/usr/bin/env bash
# The deployment of deploy/compose.yaml on one machine, without containers:
#
#   bash deploy/local.sh --replicas N --port P [--bind ADDRESS]
#
# N `streamlit run app.py` processes on loopback ports, behind Debian's nginx with
# deploy/nginx/streamlit.conf.template (cookie affinity, websocket upgrade) listening on
# ADDRESS:P (default 0.0.0.0: every address of the machine, for a class on its network).
# Runs in the foreground; Ctrl-C or SIGTERM stops everything it started. Streamlit's
# settings for a public server come from deploy/public.env. PYTHON (default
# .venv/bin/python) and NGINX (default /usr/sbin/nginx) choose the programs.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
NGINX=${NGINX:-/usr/sbin/nginx}
MAX_REPLICAS=32
READY_TIMEOUT=180  # seconds for every replica and the proxy to answer /_stcore/health

die() { echo "local.sh: $*" >&2; exit 2; }

usage() {
  echo "usage: bash deploy/local.sh --replicas N --port P [--bind ADDRESS]" >&2
  exit 2
}

replicas="" port="" bind="0.0.0.0"
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) [ $# -ge 2 ] || die "--replicas needs a value"; replicas=$2; shift 2 ;;
    --port) [ $# -ge 2 ] || die "--port needs a value"; port=$2; shift 2 ;;
    --bind) [ $# -ge 2 ] || die "--bind needs a value"; bind=$2; shift 2 ;;
    -h|--help) usage ;;
    *) die "unknown argument '${1:0:40}' (usage: --replicas N --port P [--bind ADDRESS])" ;;
  esac
done
[ -n "$replicas" ] && [ -n "$port" ] || usage
[[ "$replicas" =~ ^[0-9]{1,3}$ ]] && [ "$replicas" -ge 1 ] && [ "$replicas" -le $MAX_REPLICAS ] \
  || die "--replicas must be a whole number from 1 to $MAX_REPLICAS, not '${replicas:0:40}'"
[[ "$port" =~ ^[0-9]{1,5}$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] \
  || die "--port must be a whole number from 1 to 65535, not '${port:0:40}'"
[[ "$bind" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] \
  || die "--bind must be an IPv4 address such as 127.0.0.1, not '${bind:0:40}'"
[ -x "$PYTHON" ] || die "no Python at $PYTHON: run 'bash .ci/setup' first (or set PYTHON)"
[ -x "$NGINX" ] || die "no nginx at $NGINX: install it (apt-get install nginx) or set NGINX"

# A clear error if ADDRESS:P is taken; free loopback ports for the replicas.
probe='import socket, sys
bind, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with socket.socket() as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((bind, port))
    except OSError as exc:
        sys.exit(f"local.sh: cannot listen on {bind} port {port}: {exc.strerror}")
held = [socket.socket() for _ in range(n)]
for s in held:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))'
ports_text=$("$PYTHON" -c "$probe" "$bind" "$port" "$replicas") || exit 2
read -r -a replica_ports <<< "$ports_text"

work=$(mktemp -d "${TMPDIR:-/tmp}/explainer-local-XXXXXX")
# nginx's workers drop root for an unprivileged user: they must reach their temp folders.
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
pids=()  # the proxy (once started) first, then the replicas; each leads its process group

stop() {
  local status=$1 pid alive
  trap '' INT TERM
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for _ in $(seq 100); do  # up to 10 s to finish cleanly
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "local.sh: stopped" >&2
  exit "$status"
}
trap 'stop 0' INT TERM

servers=""
for p in "${replica_ports[@]}"; do servers+="server 127.0.0.1:$p; "; done
sed -e "s|\${LISTEN}|$bind:$port|g" -e "s|\${REPLICA_SERVERS}|$servers|g" \
  "$REPO/deploy/nginx/streamlit.conf.template" > "$work/streamlit.conf"
cat > "$work/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $work/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/client_body;
    proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fastcgi;
    uwsgi_temp_path $work/uwsgi;
    scgi_temp_path $work/scgi;
    include $work/streamlit.conf;
}
EOF
"$NGINX" -t -q -e stderr -p "$work" -c "$work/nginx.conf" \
  || die "nginx refused the configuration (above)"

# setsid: Ctrl-C reaches this script only, which then stops the children in order.
# Their output goes to ours, each line tagged by a sed that ignores Ctrl-C too, so it
# passes on what they print while they stop.
cd "$REPO"
set -a
# shellcheck source=public.env
. "$REPO/deploy/public.env"
set +a
for i in "${!replica_ports[@]}"; do
  setsid "$PYTHON" -m streamlit run app.py --server.address 127.0.0.1 \
    --server.port "${replica_ports[$i]}" \
    > >(trap '' INT; exec sed -u "s/^/[replica $((i + 1))] /") 2>&1 < /dev/null &
  pids+=($!)
done

healthy() {
  "$PYTHON" -c 'import sys, urllib.request
sys.exit(urllib.request.urlopen(sys.argv[1], timeout=2).status != 200)' "$1" 2>/dev/null
}

deadline=$((SECONDS + READY_TIMEOUT))
wait_healthy() {
  local pid
  until healthy "$1/_stcore/health"; do
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null || { echo "local.sh: a process exited while starting" >&2; stop 1; }
    done
    [ $SECONDS -lt $deadline ] || { echo "local.sh: not healthy after $READY_TIMEOUT s" >&2; stop 1; }
    sleep 0.5
  done
}

# Each replica runs app.py once before the proxy sends it visitors (deploy/warm_up.py).
for p in "${replica_ports[@]}"; do
  wait_healthy "http://127.0.0.1:$p"
  "$PYTHON" "$REPO/deploy/warm_up.py" "http://127.0.0.1:$p" || stop 1
done
setsid "$NGINX" -e stderr -p "$work" -c "$work/nginx.conf" \
  > >(trap '' INT; exec sed -u "s/^/[nginx] /") 2>&1 < /dev/null &
pids=("$!" "${pids[@]}")  # the proxy first: stopped first

host=$bind
[ "$bind" = "0.0.0.0" ] && host=127.0.0.1
url=http://$host:$port
wait_healthy "$url"
echo "local.sh: $replicas replicas on ports ${replica_ports[*]}; nginx pid ${pids[0]}"
[ "$bind" = "0.0.0.0" ] && echo "local.sh: also on port $port of this machine's other addresses"
echo "local.sh: ready on $url"

# Until a signal, or until one of them exits by itself (then stop the others).
set +e
wait -n "${pids[@]}"
echo "local.sh: a process exited unexpectedly (status $?); stopping the others" >&2
stop 1

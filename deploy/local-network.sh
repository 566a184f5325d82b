#!/usr/bin/env bash
# A whole nearmiss network on 127.0.0.1, as separate processes, for trying a deployment
# on one machine: a dev PKI, one authority (SQLite, or PostgreSQL with --database-url),
# and one `node serve` per lab, each with its own outbox. Ctrl-C stops everything.
#
# Usage: deploy/local-network.sh [DIR] [--database-url URL] [--lab NAME]...
#   DIR defaults to ./local-net (kept between runs: the outboxes and the database stay).
# File a report:  nearmiss node submit examples/nm-agent-oversight-tampering.yaml \
#                   --config DIR/lab-aurora/node.toml
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${NEARMISS_PYTHON:-$repo/.venv/bin/python}"
dir="./local-net"
database_url=""
labs=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --database-url) database_url="$2"; shift 2 ;;
    --lab) labs+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) dir="$1"; shift ;;
  esac
done
[[ ${#labs[@]} -eq 0 ]] && labs=(lab-aurora lab-borealis)
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
nearmiss() { "$python" -m nearmiss.cli "$@"; }

if [[ ! -f "$dir/ca/ca.key" ]]; then
  args=(pki init "$dir" --authority eu-ai-office --institute uk-aisi)
  for lab in "${labs[@]}"; do args+=(--lab "$lab"); done
  nearmiss "${args[@]}"
fi
config="$dir/eu-ai-office/authority.toml"
if [[ -n "$database_url" ]]; then
  sed -i "s#^database_url = .*#database_url = \"$database_url\"#" "$config"
fi

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap cleanup INT TERM EXIT

mkdir -p "$dir/logs"
# Started directly (not through the shell function) so that $! is the process itself.
"$python" -m nearmiss.cli authority serve --config "$config" >"$dir/logs/authority.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  grep -q '^listening on ' "$dir/logs/authority.log" 2>/dev/null && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$dir/logs/authority.log"; exit 1; }
  sleep 0.5
done
grep '^listening on ' "$dir/logs/authority.log" | sed 's/^/authority: /'
for lab in "${labs[@]}"; do
  "$python" -m node serve --config "$dir/$lab/node.toml" >"$dir/logs/$lab.log" 2>&1 &
  pids+=($!)
  echo "$lab: node serve (log $dir/logs/$lab.log)"
done
echo "running; Ctrl-C stops the network"
wait

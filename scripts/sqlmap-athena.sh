#!/usr/bin/env bash
# sqlmap against Athena's gateway routes (issue 11, item 7). Starts an Atrium server on a free port
# (scripts/sqlmap-athena-server.ts: a fresh database on the local PostgreSQL as client `sqlmap`, with table `items`
# and function `search_items(q text)`), then runs sqlmap once per target with Athena's headers, --batch,
# --level/--risk raised and every technique, each bounded in time. sqlmap's output goes to sqlmap-output/<run>/
# (gitignored); one summary line per target is printed at the end.
#
#   scripts/sqlmap-athena.sh                       # defaults below
#   SQLMAP_SECONDS=300 SQLMAP_LEVEL=3 SQLMAP_RISK=2 scripts/sqlmap-athena.sh
#   SQLMAP_PARALLEL=1 scripts/sqlmap-athena.sh     # all targets at once (each still bounded)
#   SQLMAP_TARGETS="fetch rest" scripts/sqlmap-athena.sh
# Needs sqlmap (Debian: apt-get install -y sqlmap) and the local PostgreSQL (SQLMAP_PG_URL, default
# postgresql://postgres@127.0.0.1:5432/postgres).
set -euo pipefail

cd "$(dirname "$0")/.."
command -v sqlmap >/dev/null || { echo "sqlmap is not installed (apt-get install -y sqlmap)" >&2; exit 2; }

seconds=${SQLMAP_SECONDS:-600}
level=${SQLMAP_LEVEL:-5}
risk=${SQLMAP_RISK:-3}
techniques=${SQLMAP_TECHNIQUES:-BEUSTQ}
targets=${SQLMAP_TARGETS:-"fetch rest rest-select rpc-get rpc-post"}
run="sqlmap-output/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$run"

# The server, in the background; its first stdout line is {url, clientName, key}.
server_log="$run/server.log"
coproc SERVER { exec node_modules/.bin/node --import tsx scripts/sqlmap-athena-server.ts 2>>"$server_log"; }
server_pid=$SERVER_PID
cleanup() {
  # Only the processes this script started: the server (it drops its databases on SIGTERM) and sqlmap runs.
  for pid in "${sqlmap_pids[@]:-}"; do [[ -n "$pid" ]] && kill -INT "$pid" 2>/dev/null || true; done
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}
sqlmap_pids=()
trap cleanup EXIT
read -r -t 120 info <&"${SERVER[0]}" || { echo "the server did not start (see $server_log)" >&2; exit 1; }
url=$(node_modules/.bin/node -e 'console.log(JSON.parse(process.argv[1]).url)' "$info")
client=$(node_modules/.bin/node -e 'console.log(JSON.parse(process.argv[1]).clientName)' "$info")
key=$(node_modules/.bin/node -e 'console.log(JSON.parse(process.argv[1]).key)' "$info")
echo "server at $url (client $client); output in $run; ${seconds}s per target, level $level, risk $risk, techniques $techniques"

headers="apikey: $key\nX-Athena-Client: $client"
common=(--batch --flush-session --level="$level" --risk="$risk" --technique="$techniques" --dbms=PostgreSQL
  --headers="$headers" --timeout=15 --retries=1 --disable-coloring
  # sqlmap skips a parameter whose payloads answer like the plain value ("possible type casting detected", e.g. a
  # numeric filter): test those too.
  --answers="skip those kind=N")

# target name -> sqlmap arguments (URL, method, body). Every field of the bodies and every query parameter is a
# candidate injection point: identifiers (table, column, select) as well as values.
target_args() {
  case "$1" in
    fetch) # the structured gateway: table, condition column and value, limit
      printf '%s\0' -u "$url/athena/gateway/fetch" --method=POST \
        --data='{"table_name":"items","conditions":[{"eq_column":"name","eq_value":"widget"}],"limit":10}' ;;
    rest) # PostgREST grammar: a filter value, order and limit
      printf '%s\0' -u "$url/athena/rest/v1/items?name=eq.widget&order=id&limit=5" ;;
    rest-select) # select with an alias and a cast, and a numeric filter
      printf '%s\0' -u "$url/athena/rest/v1/items?select=id,label:name,price::text&price=gt.1&id=in.(1,2)" ;;
    rpc-get) # the function argument as a query parameter, and a filter on its result
      printf '%s\0' -u "$url/athena/rpc/search_items?q=wid&id=gte.1" ;;
    rpc-post) # the function argument in a JSON body
      printf '%s\0' -u "$url/athena/rpc/search_items" --method=POST --data='{"q":"wid"}' ;;
    *) echo "unknown target $1" >&2; return 1 ;;
  esac
}

run_target() {
  local name=$1 args=()
  while IFS= read -r -d '' a; do args+=("$a"); done < <(target_args "$name")
  # SIGINT first (sqlmap writes what it has), then KILL if it does not stop.
  timeout -s INT -k 20 "$seconds" sqlmap "${args[@]}" "${common[@]}" --output-dir="$run/$name" \
    >"$run/$name.log" 2>&1 || echo "exit $?" >>"$run/$name.status"
}

# The non-2xx statuses sqlmap counted ("400 (Bad Request) - 105 times", one per line after its warning).
codes() {
  awk '/HTTP error codes detected during run:/ {on=1; next} on && /^[0-9][0-9][0-9] [(]/ {printf "%s%s", sep, $0; sep=", "; next} {on=0}' "$1"
  return 0
}

summary() {
  local name=$1 log="$run/$1.log" status
  status=$(cat "$run/$name.status" 2>/dev/null || echo "exit 0")
  if grep -q "identified the following injection point" "$log"; then
    echo "$name: INJECTION FOUND: $(grep -E '^(Parameter|    Type|    Title):' "$log" | tr -s ' ' | paste -sd ';' -)"
  elif grep -qE "all tested parameters do not appear to be injectable|do not appear to be injectable" "$log"; then
    echo "$name: no injection found (sqlmap finished; $(grep -c 'testing ' "$log") tests; HTTP statuses: $(codes "$log"))"
  elif [[ "$status" == "exit 124" || "$status" == "exit 130" || "$status" == "exit 137" ]]; then
    echo "$name: no injection found within the ${seconds}s bound (stopped: $status; $(grep -c 'testing ' "$log") tests run; HTTP statuses: $(codes "$log"))"
  else
    echo "$name: sqlmap ended without a verdict ($status): $(grep -E '\[(CRITICAL|ERROR)\]' "$log" | tail -1)"
  fi
}

if [[ "${SQLMAP_PARALLEL:-0}" == 1 ]]; then
  for t in $targets; do run_target "$t" & sqlmap_pids+=($!); done
  wait "${sqlmap_pids[@]}" || true
else
  for t in $targets; do run_target "$t"; done
fi
sqlmap_pids=()

echo "== sqlmap summary ($run) =="
for t in $targets; do summary "$t" | tee -a "$run/summary.txt"; done
# A 5xx is a bug even when nothing is injectable.
if grep -lE "^5[0-9][0-9] \(" "$run"/*.log >/dev/null 2>&1; then
  echo "5xx answers seen in: $(grep -lE '^5[0-9][0-9] \(' "$run"/*.log | paste -sd ' ' -)"
else
  echo "no 5xx answers in any target"
fi

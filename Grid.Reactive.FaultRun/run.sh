#!/usr/bin/env bash
# The multi-process fault run: N grid nodes (one process each), each in its own network namespace on one bridge,
# one load node keeping the books of every call, and faults applied one after another: latency, loss, a silent
# cut of one link, a node killed with SIGKILL and restarted, a node frozen with SIGSTOP and resumed; then (not in
# --short unless --overlap) latency, a cut, a kill and a freeze all at once, each on its own peer.
#
#   sudo Grid.Reactive.FaultRun/run.sh               # 8 nodes, about 2 minutes
#   sudo Grid.Reactive.FaultRun/run.sh --nodes 16    # up to 16
#   sudo Grid.Reactive.FaultRun/run.sh --short       # 5 nodes, each fault once briefly (what CI runs)
#
# Options: --nodes N (6..16; 5..16 with --short), --short (5 nodes by default), --no-build (use the Release build as it is), --out DIR (keep logs and books
# there; default a temporary directory, kept only on failure), --no-latency (no relay; all links direct),
# --firewall nft|iptables|none (force a backend; default nft, else iptables, else none), --corrupt N (serving nodes
# answer every Nth request wrongly: the run must then FAIL, which proves the books catch a wrong answer),
# --ping-timeout T (default 3s; raise it on a starved machine, where whole-process stalls look like dead links),
# --overlap / --no-overlap (the overlapping faults at the end; default on, off with --short), --tls (every link over
# wss with mutual TLS and peer identity, on a CA made for the run).
# Exit: 0 when every call ended ok or failed cleanly; 1 when a call was wrong, duplicated or hung past its deadline
# (or the harness itself failed); 77 when the machine cannot run it (not root, no network namespaces).
# Installs nothing: without nft (or iptables) it skips the faults that need them and says so.
# Everything it creates (namespaces, veths, the bridge, processes) is removed on exit, failure included.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
nodes=8
short=0
build=1
out=""
latency=1
force_fw=""
corrupt=0
ping_timeout=3s
nodes_given=0
overlap=""
tls=0
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) nodes=$2; nodes_given=1; shift 2 ;;
    --short) short=1; shift ;;
    --no-build) build=0; shift ;;
    --out) out=$2; shift 2 ;;
    --no-latency) latency=0; shift ;;
    --firewall) force_fw=$2; shift 2 ;;
    --corrupt) corrupt=$2; shift 2 ;;
    --ping-timeout) ping_timeout=$2; shift 2 ;;
    --overlap) overlap=1; shift ;;
    --no-overlap) overlap=0; shift ;;
    --tls) tls=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 64 ;;
  esac
done
[ $short -eq 1 ] && [ $nodes_given -eq 0 ] && nodes=5
[ -z "$overlap" ] && overlap=$([ $short -eq 1 ] && echo 0 || echo 1)
min_nodes=$([ $short -eq 1 ] && echo 5 || echo 6) # the load node plus one peer per fault (latency and loss share one in --short)
if [ "$nodes" -lt "$min_nodes" ] || [ "$nodes" -gt 16 ]; then echo "--nodes must be $min_nodes..16" >&2; exit 64; fi

say() { echo "[$(date +%H:%M:%S.%3N)] $*"; }
skip() { echo "skipped: $*"; exit 77; }

# ---- what this machine allows ---------------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || skip "no network namespaces (not root: run with sudo)"
command -v ip >/dev/null || skip "no network namespaces (no 'ip' command: iproute2 missing)"
prefix="fr$(( $$ % 100000 ))"
probe_err=$(ip netns add "${prefix}probe" 2>&1) || skip "no network namespaces ($probe_err)"
ip netns del "${prefix}probe"

fw=none
if command -v nft >/dev/null && nft --version >/dev/null 2>&1; then fw=nft
elif command -v iptables >/dev/null && iptables --version >/dev/null 2>&1; then fw=iptables
fi
[ -n "$force_fw" ] && fw=$force_fw
[ "$fw" = none ] && latency=0
command -v dotnet >/dev/null || { echo "dotnet not found" >&2; exit 1; }

dll="$root/Grid.Reactive.FaultRun/bin/Release/net10.0/Grid.Reactive.FaultRun.dll"
if [ "$build" -eq 1 ]; then
  say "building Grid.Reactive.FaultRun (Release)"
  dotnet build "$root/Grid.Reactive.FaultRun" -c Release --nologo -v q >/dev/null || { echo "build failed" >&2; exit 1; }
fi
[ -f "$dll" ] || { echo "$dll is missing: build the solution in Release first" >&2; exit 1; }
# The checker first: synthetic wrong, duplicated, hung and late calls must land in the right columns of the books.
dotnet "$dll" --role check || { echo "the books' self-check failed: no run with a checker that misses violations" >&2; exit 1; }

keep=1
if [ -z "$out" ]; then out=$(mktemp -d /tmp/faultrun.XXXXXX); keep=0; fi
mkdir -p "$out"
: > "$out/faults.log"
: > "$out/delays"

# ---- the grid's addresses and the cleanup that always runs -----------------------------------------------------
bridge="${prefix}br"
relay_ns="${prefix}r"
relay_ip=10.77.0.250
ip_of() { echo "10.77.0.$((10 + $1))"; }  # node 1 is the load node
ns_of() { echo "${prefix}n$1"; }
all=""
for i in $(seq 1 "$nodes"); do all="$all${all:+,}$(ip_of "$i"):7000"; done

declare -A pid
relay_pid=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for p in "${pid[@]}" $relay_pid; do kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 30); do
    local alive=0
    for p in "${pid[@]}" $relay_pid; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.2
  done
  for p in "${pid[@]}" $relay_pid; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  for i in $(seq 1 "$nodes"); do
    ip netns del "$(ns_of "$i")" 2>/dev/null
    ip link del "${prefix}v$i" 2>/dev/null
  done
  ip netns del "$relay_ns" 2>/dev/null
  ip link del "${prefix}vr" 2>/dev/null
  ip link del "$bridge" 2>/dev/null
  if [ "$keep" -eq 0 ] && [ "$status" -eq 0 ]; then rm -rf "$out"; else echo "logs and books: $out"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the network: one bridge, a namespace per node, a veth pair each ---------------------------------------------
add_ns() { # name host-veth ip
  ip netns add "$1" || return 1
  ip link add "$2" type veth peer name eth0 netns "$1" || return 1
  ip link set "$2" master "$bridge" up || return 1
  ip -n "$1" addr add "$3/24" dev eth0 || return 1
  ip -n "$1" link set eth0 up && ip -n "$1" link set lo up
}
say "network: bridge $bridge, $nodes namespaces on 10.77.0.0/24, firewall: $fw, latency relay: $([ $latency -eq 1 ] && echo on || echo off), links: $([ $tls -eq 1 ] && echo "wss, mutual TLS" || echo ws)"
ip link add "$bridge" type bridge && ip link set "$bridge" up || exit 1
for i in $(seq 1 "$nodes"); do add_ns "$(ns_of "$i")" "${prefix}v$i" "$(ip_of "$i")" || exit 1; done
[ $latency -eq 1 ] && { add_ns "$relay_ns" "${prefix}vr" "$relay_ip" || exit 1; }

# Firewall tables in each node namespace: separate chains for loss and cut (flushed on their own), and the
# DNAT that sends every grid connection through the latency relay.
fw_init() { # i
  local ns; ns=$(ns_of "$1")
  if [ "$fw" = nft ]; then
    {
      echo "table inet faultrun {"
      for c in loss_in cut_in; do echo " chain $c { type filter hook input priority 0; }"; done
      for c in loss_out cut_out; do echo " chain $c { type filter hook output priority 0; }"; done
      echo "}"
      if [ $latency -eq 1 ]; then
        echo "table ip faultrun_nat {"
        echo " chain out {"
        echo "  type nat hook output priority -100;"
        for j in $(seq 1 "$nodes"); do
          [ "$j" -ne "$1" ] && echo "  ip daddr $(ip_of "$j") tcp dport 7000 dnat to $relay_ip:$((17000 + j - 1))"
        done
        echo " }"
        echo "}"
      fi
    } | ip netns exec "$ns" nft -f - || return 1
  elif [ "$fw" = iptables ]; then
    for c in FR_LOSS FR_CUT; do ip netns exec "$ns" iptables -N $c || return 1; done
    ip netns exec "$ns" iptables -A INPUT -j FR_LOSS && ip netns exec "$ns" iptables -A OUTPUT -j FR_LOSS &&
    ip netns exec "$ns" iptables -A INPUT -j FR_CUT && ip netns exec "$ns" iptables -A OUTPUT -j FR_CUT || return 1
    if [ $latency -eq 1 ]; then
      for j in $(seq 1 "$nodes"); do
        if [ "$j" -ne "$1" ]; then
          ip netns exec "$ns" iptables -t nat -A OUTPUT -d "$(ip_of "$j")" -p tcp --dport 7000 \
            -j DNAT --to-destination "$relay_ip:$((17000 + j - 1))" || return 1
        fi
      done
    fi
  fi
  return 0
}
if [ "$fw" != none ]; then
  for i in $(seq 1 "$nodes"); do
    fw_init "$i" || { echo "cannot set up $fw in the namespaces: latency, loss and cut skipped"; fw_failed=1; break; }
  done
  if [ "${fw_failed:-0}" -eq 1 ]; then # take back whatever went in, so no connection is redirected to a relay never started
    for i in $(seq 1 "$nodes"); do
      if [ "$fw" = nft ]; then ip netns exec "$(ns_of "$i")" nft flush ruleset 2>/dev/null
      else ip netns exec "$(ns_of "$i")" iptables -t nat -F 2>/dev/null; ip netns exec "$(ns_of "$i")" iptables -F 2>/dev/null; fi
    done
    fw=none; latency=0
  fi
fi

loss_on() { # i percent
  local ns; ns=$(ns_of "$1")
  if [ "$fw" = nft ]; then
    printf 'add rule inet faultrun loss_in iifname eth0 numgen random mod 100 < %s drop\nadd rule inet faultrun loss_out oifname eth0 numgen random mod 100 < %s drop\n' "$2" "$2" |
      ip netns exec "$ns" nft -f -
  else
    local p; p=$(awk "BEGIN{print $2/100}")
    ip netns exec "$ns" iptables -A FR_LOSS -i eth0 -m statistic --mode random --probability "$p" -j DROP &&
    ip netns exec "$ns" iptables -A FR_LOSS -o eth0 -m statistic --mode random --probability "$p" -j DROP
  fi
}
loss_off() {
  if [ "$fw" = nft ]; then printf 'flush chain inet faultrun loss_in\nflush chain inet faultrun loss_out\n' | ip netns exec "$(ns_of "$1")" nft -f -
  else ip netns exec "$(ns_of "$1")" iptables -F FR_LOSS; fi
}
# A silent cut: every packet between the two dropped in both namespaces, by address and by the connection's
# original destination (so connections through the relay are cut too). No RST, no FIN: only pings can tell.
cut_side() { # i j
  local ns peer; ns=$(ns_of "$1"); peer=$(ip_of "$2")
  if [ "$fw" = nft ]; then
    for c in cut_in cut_out; do
      printf 'add rule inet faultrun %s ip saddr %s drop\nadd rule inet faultrun %s ip daddr %s drop\nadd rule inet faultrun %s ct original ip daddr %s drop\n' \
        $c "$peer" $c "$peer" $c "$peer"
    done | ip netns exec "$ns" nft -f -
  else
    ip netns exec "$ns" iptables -A FR_CUT -s "$peer" -j DROP && ip netns exec "$ns" iptables -A FR_CUT -d "$peer" -j DROP &&
    ip netns exec "$ns" iptables -A FR_CUT -m conntrack --ctorigdst "$peer" -j DROP
  fi
}
cut_off() {
  for i in "$1" "$2"; do
    if [ "$fw" = nft ]; then printf 'flush chain inet faultrun cut_in\nflush chain inet faultrun cut_out\n' | ip netns exec "$(ns_of "$i")" nft -f -
    else ip netns exec "$(ns_of "$i")" iptables -F FR_CUT; fi
  done
}
delay_gen=0
apply_delays() { # waits until the relay has the new table in force (so the fault's start mark is true)
  delay_gen=$((delay_gen + 1))
  { echo "# $delay_gen"; cat "$out/delays.new"; } > "$out/delays.tmp"; rm -f "$out/delays.new"
  mv "$out/delays.tmp" "$out/delays"
  for _ in $(seq 100); do
    applied_at=$(awk -v g="$delay_gen" '$1 == "#" && $2 == g { print $3 }' "$out/delays.applied" 2>/dev/null)
    [ -n "$applied_at" ] && return 0
    sleep 0.05
  done
  applied_at=$(date +%s%3N)
  echo "the relay did not apply the delays within 5 s"
}
latency_on() { # i one-way-ms: every link of node i, both directions
  : > "$out/delays.new"
  for j in $(seq 1 "$nodes"); do
    [ "$j" -ne "$1" ] && printf '%s %s %s\n%s %s %s\n' "$(ip_of "$1")" "$(ip_of "$j")" "$2" "$(ip_of "$j")" "$(ip_of "$1")" "$2" >> "$out/delays.new"
  done
  apply_delays
}
latency_off() { : > "$out/delays.new"; apply_delays; }

# ---- the processes ------------------------------------------------------------------------------------------------
deadline=2s; grace=3s
common=(--nodes "$all" --ping-interval 1s --ping-timeout "$ping_timeout")
if [ $tls -eq 1 ]; then
  dotnet "$dll" --role certs --nodes "$all" --tls-dir "$out/tls" > "$out/certs.log" 2>&1 || { echo "making the run's certificates failed"; cat "$out/certs.log"; exit 1; }
  common+=(--tls-dir "$out/tls")
fi
start_node() { # i
  local role=serve extra=(--corrupt-every "$corrupt")
  if [ "$1" -eq 1 ]; then
    role=load
    extra=(--concurrency 2 --think 5ms --deadline $deadline --grace $grace --books "$out/books.json" --faults "$out/faults.log" --ready "$out/ready")
  fi
  ip netns exec "$(ns_of "$1")" dotnet "$dll" --role $role --address "$(ip_of "$1"):7000" "${common[@]}" "${extra[@]}" >> "$out/node$1.log" 2>&1 &
  pid[$1]=$!
}
wait_serving() { # i seconds: until the node's log says it serves again (the restart's end)

  for _ in $(seq $(( $2 * 10 ))); do
    [ "$(grep -c "serving at" "$out/node$1.log")" -gt "$3" ] && return 0
    sleep 0.1
  done
  return 1
}
# The fault log the load node reads: a fault starts once it is in force (rules loaded, delays applied, signal sent)
# and ends once it is lifted (rules flushed, delays cleared, SIGCONT sent, the restarted node serving).
# (The latency relay reports the moment its table came into force; that moment is the mark.)
mark() { echo "${4:-$(date +%s%3N)} $1 $2 $3" >> "$out/faults.log"; say "fault $2 $1 ($3)"; }

if [ $latency -eq 1 ]; then
  ip netns exec "$relay_ns" dotnet "$dll" --role relay --listen $relay_ip --nodes "$all" --control "$out/delays" > "$out/relay.log" 2>&1 &
  relay_pid=$!
fi
say "starting $nodes nodes (node 1 is the load node at $(ip_of 1):7000)"
for i in $(seq 2 "$nodes"); do start_node "$i"; done
start_node 1
for _ in $(seq 1200); do
  [ -f "$out/ready" ] && break
  kill -0 "${pid[1]}" 2>/dev/null || break
  sleep 0.1
done
if [ ! -f "$out/ready" ]; then
  echo "the load node did not connect to every peer within 120 s"; tail -n 20 "$out/node1.log"; exit 1
fi
say "every link is up; load running"

# ---- the faults -----------------------------------------------------------------------------------------------------
if [ $short -eq 1 ]; then len=3; gap=1; base=2; tail_s=4; down=1; cut_len=4
else len=10; gap=4; base=10; tail_s=8; down=5; cut_len=8; fi
peer() { echo "$(ip_of "$1"):7000"; }
skipped=()
n_lat=2; n_loss=$([ $short -eq 1 ] && echo 2 || echo 3); n_cut=$([ $short -eq 1 ] && echo 3 || echo 4)
n_kill=$([ $short -eq 1 ] && echo 4 || echo 5); n_freeze=$([ $short -eq 1 ] && echo 5 || echo 6)
sleep $base

if [ $latency -eq 1 ]; then
  latency_on $n_lat 50; mark start latency "$(peer $n_lat)" "$applied_at"; sleep $len
  latency_off; mark end latency "$(peer $n_lat)" "$applied_at"; sleep $gap
else skipped+=("latency (needs nft or iptables working in the namespaces, for the relay's DNAT)"); fi

if [ "$fw" != none ]; then
  loss_on $n_loss 10 || echo "loss rule failed"; mark start loss "$(peer $n_loss)"; sleep $len; loss_off $n_loss; mark end loss "$(peer $n_loss)"; sleep $gap
  # The load node's side alone silences the link, so the cut starts once that side is in force.
  cut_side 1 $n_cut || echo "cut rule failed"; mark start cut "$(peer $n_cut)"; cut_side $n_cut 1 || echo "cut rule failed"
  sleep $cut_len; cut_off 1 $n_cut; mark end cut "$(peer $n_cut)"; sleep $gap
else skipped+=("loss and cut (need nft or iptables working in the namespaces)"); fi

mark start kill "$(peer $n_kill)"
kill -KILL "${pid[$n_kill]}"; wait "${pid[$n_kill]}" 2>/dev/null
served=$(grep -c "serving at" "$out/node$n_kill.log")
sleep $down
start_node $n_kill
wait_serving $n_kill 60 "$served" || echo "node $n_kill did not come back within 60 s"
mark end kill "$(peer $n_kill)"; sleep $gap

mark start freeze "$(peer $n_freeze)"; kill -STOP "${pid[$n_freeze]}"; sleep $cut_len
kill -CONT "${pid[$n_freeze]}"; mark end freeze "$(peer $n_freeze)"

if [ $overlap -eq 1 ]; then
  # The same faults at once, each on its own peer: latency, a silent cut, a SIGKILL and restart, a freeze. The kill
  # ends first (the node restarted and serving while the others still hold), then the rest together.
  sleep $gap
  if [ $latency -eq 1 ]; then latency_on $n_lat 50; mark start overlap-latency "$(peer $n_lat)" "$applied_at"; fi
  if [ "$fw" != none ]; then
    cut_side 1 $n_cut || echo "cut rule failed"; mark start overlap-cut "$(peer $n_cut)"; cut_side $n_cut 1 || echo "cut rule failed"
  fi
  kill -STOP "${pid[$n_freeze]}"; mark start overlap-freeze "$(peer $n_freeze)"
  mark start overlap-kill "$(peer $n_kill)"
  kill -KILL "${pid[$n_kill]}"; wait "${pid[$n_kill]}" 2>/dev/null
  served=$(grep -c "serving at" "$out/node$n_kill.log")
  sleep $down
  start_node $n_kill
  wait_serving $n_kill 60 "$served" || echo "node $n_kill did not come back within 60 s"
  mark end overlap-kill "$(peer $n_kill)"
  sleep $len
  kill -CONT "${pid[$n_freeze]}"; mark end overlap-freeze "$(peer $n_freeze)"
  if [ "$fw" != none ]; then cut_off 1 $n_cut; mark end overlap-cut "$(peer $n_cut)"; fi
  if [ $latency -eq 1 ]; then latency_off; mark end overlap-latency "$(peer $n_lat)" "$applied_at"; fi
fi
sleep $tail_s

# ---- the books ------------------------------------------------------------------------------------------------------
say "stopping the load"
kill -TERM "${pid[1]}"
load_status=1
for _ in $(seq 300); do kill -0 "${pid[1]}" 2>/dev/null || break; sleep 0.1; done
if kill -0 "${pid[1]}" 2>/dev/null; then
  echo "the load node did not finish within 30 s of SIGTERM"
else
  wait "${pid[1]}"; load_status=$?
fi
unset 'pid[1]'
echo
sed -n '/^=== books/,$p' "$out/node1.log"
echo
for s in "${skipped[@]}"; do echo "skipped fault: $s"; done
grep -q '"recoverMs": null' "$out/books.json" 2>/dev/null && echo "warning: a peer had no successful call between its fault's end and the end of the run"
case $load_status in 0) [ "$keep" -eq 1 ] && echo "books (JSON): $out/books.json" || echo "(--out DIR keeps the logs and the JSON books of a passing run)" ;; *) echo "books (JSON): $out/books.json" ;; esac
case $load_status in
  0) say "PASS: every call accounted for; none wrong, duplicated or hung"; exit 0 ;;
  2) say "FAIL: wrong, duplicated or hung calls (see the books)"; keep=1; exit 1 ;;
  *) say "FAIL: the load node exited with $load_status"; keep=1; tail -n 30 "$out/node1.log"; exit 1 ;;
esac

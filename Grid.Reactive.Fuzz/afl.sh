#!/usr/bin/env bash
# A real AFL++ campaign on one target: publish the harness, instrument Grid.Reactive.dll with SharpFuzz, run afl-fuzz
# at the lowest priority for a bounded time, then replay what it found through the harness.
#   Grid.Reactive.Fuzz/afl.sh frames|handshake [seconds=300] [findings dir=/tmp/grid-fuzz/findings-TARGET]
# Needs: afl++ (Debian: apt-get install -y afl++) and the SharpFuzz tool (dotnet tool install --global SharpFuzz.CommandLine).
set -euo pipefail
target=${1:?usage: afl.sh frames|handshake [seconds] [findings dir]}
seconds=${2:-300}
here="$(cd "$(dirname "$0")" && pwd)"
work=${GRID_FUZZ_WORK:-/tmp/grid-fuzz}
findings=${3:-$work/findings-$target}
out="$work/bin"
export PATH="$PATH:$HOME/.dotnet/tools" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

instrument=${GRID_FUZZ_INSTRUMENT:-Grid.Reactive.dll} # the assemblies whose branches AFL sees

# Publish into a folder of its own: instrumenting rewrites the assemblies in place, and the build output the tests use
# must stay uninstrumented. Instrument once per publish (a second pass would fail on an instrumented assembly).
if [ "$(cat "$out/.instrumented" 2>/dev/null)" != "$instrument" ]; then
  rm -rf "$out"
  nice -n 19 dotnet publish "$here/Grid.Reactive.Fuzz.csproj" -c Release -o "$out" >/dev/null
  for dll in $instrument; do
    sharpfuzz "$out/$dll"
  done
  echo "$instrument" > "$out/.instrumented"
fi

mkdir -p "$findings"
# dotnet itself is not instrumented (SharpFuzz reports coverage for the instrumented assembly), no core dumps are
# wanted, the CPU governor is not ours to change, and the machine is shared: no core pinning.
export AFL_SKIP_BIN_CHECK=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1
resume=()
[ -f "$findings/default/fuzzer_stats" ] && resume=(-i -) # -i - resumes an earlier campaign in the same folder
[ ${#resume[@]} -eq 0 ] && resume=(-i "$here/corpus/$target")
nice -n 19 afl-fuzz "${resume[@]}" -o "$findings" -t 5000 -m 10000 -V "$seconds" -x "$here/msgpack.dict" \
  -- dotnet "$out/Grid.Reactive.Fuzz.dll" "$target" || true

stats="$findings/default/fuzzer_stats"
[ -f "$stats" ] && grep -E '^(execs_done|execs_per_sec|corpus_count|corpus_found|bitmap_cvg|edges_found|total_edges|saved_crashes|saved_hangs|run_time) ' "$stats"
shopt -s nullglob
found=("$findings"/default/crashes/id:* "$findings"/default/hangs/id:*)
if [ ${#found[@]} -gt 0 ]; then
  echo "Replaying ${#found[@]} crashes and hangs (uninstrumented):"
  dotnet run -c Release --project "$here" -- --run "$target" "${found[@]}" || true
  exit 1
fi
echo "No crash, no hang."

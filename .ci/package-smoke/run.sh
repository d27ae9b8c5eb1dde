#!/usr/bin/env bash
# Packs the three packages into a local feed and runs a fresh console app (Grid.Reactive + Grid.Reactive.Testing)
# and a fresh web app (Grid.Reactive.AspNetCore) restored from it. Expects the solution built in Release.
# Each run packs a unique prerelease version, so NuGet's global cache never serves a stale package.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
version="0.0.0-ci.$(date +%s).$$"
# The run's packages leave NuGet's global cache with the run (only this run's version of the three).
globals="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')"
trap 'rm -rf "$work" "$globals"grid.reactive/"$version" "$globals"grid.reactive.aspnetcore/"$version" "$globals"grid.reactive.testing/"$version"' EXIT

dotnet pack "$root/Grid.Reactive.sln" -c Release --no-build -o "$work/feed" -p:GridReactiveVersion="$version" -v quiet -nologo
ls "$work/feed"

cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="local" value="$work/feed" />
  </packageSources>
</configuration>
XML

for app in console web; do
  cp -r "$root/.ci/package-smoke/$app" "$work/$app"
  cp "$work/nuget.config" "$work/$app/nuget.config"
  dotnet run --project "$work/$app" -c Release -p:GridVersion="$version" -p:NuGetAudit=false -v quiet
done

#!/usr/bin/env bash
# Bootstrap only: restore the Cake tool and build codilab when (and only when) their inputs changed since the last
# successful time, then hand the arguments to build/build.cake.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 CAKE_SETTINGS_ENABLESCRIPTCACHE=true
# A log file or CI gets no colour codes (Cake honours NO_COLOR); a terminal keeps them.
[ -t 1 ] || export NO_COLOR=1

configuration=Release
# Cake's task banners and summary table are replaced by build.cake's one line per stage; --verbosity=normal brings them back.
quiet=(--verbosity=quiet --no-report)
previous=""
for arg in "$@"; do
  case "$arg" in
    --configuration=*) configuration="${arg#*=}" ;;
    --verbosity|--verbosity=*|-v) quiet=() ;;
  esac
  [ "$previous" = "--configuration" ] && configuration="$arg"
  previous="$arg"
done

stamps=build/obj
mkdir -p "$stamps"
# True when the stamp is missing or a file or folder under the given paths (bin/ and obj/ aside) is newer than it; a
# folder's time changes when a file in it is added, removed or renamed, so deletions count too.
changed() {
  local stamp=$1; shift
  [ -f "$stamp" ] || return 0
  [ -n "$(find "$@" \( -name bin -o -name obj \) -prune -o -newer "$stamp" -print -quit 2>/dev/null)" ]
}

# Cake is started straight from the NuGet cache: `dotnet cake` would first start the SDK's command line just to look the
# tool up in .config/dotnet-tools.json (about half a second of CPU on each call).
cake_version=$(grep -A3 '"cake.tool"' .config/dotnet-tools.json | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' | head -n 1)
cake_dll="${NUGET_PACKAGES:-$HOME/.nuget/packages}/cake.tool/$cake_version/tools/net10.0/any/Cake.dll"
if changed "$stamps/tools.stamp" .config/dotnet-tools.json || [ ! -f "$cake_dll" ]; then
  touch "$stamps/tools.next"
  dotnet tool restore >/dev/null
  mv "$stamps/tools.next" "$stamps/tools.stamp"
fi

inputs=(src Directory.Build.props Directory.Build.targets Directory.Packages.props CodiLab.slnx)
for optional in global.json nuget.config NuGet.config; do [ -e "$optional" ] && inputs+=("$optional"); done
if changed "$stamps/codilab-$configuration.stamp" "${inputs[@]}" \
    || [ ! -f "src/CodiLab.Cli/bin/$configuration/net10.0/codilab.dll" ]; then
  # The stamp is taken before the build, so an edit made while it runs is seen next time.
  touch "$stamps/codilab.next"
  started=$SECONDS
  # MSBuild's own summary is noise when the build passes and the whole story when it fails.
  if ! output=$(dotnet build src/CodiLab.Cli/CodiLab.Cli.csproj -c "$configuration" -nologo -v quiet -clp:NoSummary 2>&1); then
    printf '%s\n' "$output"
    exit 1
  fi
  mv "$stamps/codilab.next" "$stamps/codilab-$configuration.stamp"
  echo "codilab: built ($configuration) in $((SECONDS - started)) s (sources changed since the last build)"
fi

# The last command: its exit code (codilab's when a codilab call failed, see build/build.cake) is the script's.
if [ -f "$cake_dll" ]; then
  dotnet "$cake_dll" build/build.cake "${quiet[@]}" "$@"
else
  dotnet cake build/build.cake "${quiet[@]}" "$@"
fi

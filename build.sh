#!/usr/bin/env bash
# Bootstrap only: restore the Cake tool, build the solution, hand the arguments to build/build.cake.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 CAKE_SETTINGS_ENABLESCRIPTCACHE=true
dotnet tool restore >/dev/null
dotnet build CodiLab.slnx -c Release -nologo -v quiet -clp:NoSummary
# The last command: its exit code (codilab's when a codilab call failed, see build/build.cake) is the script's.
dotnet cake build/build.cake "$@"

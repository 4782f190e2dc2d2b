#!/usr/bin/env bash
# The steps of .github/workflows/codilab.yml as a plain script, for any CI (or a laptop): restore and build, run the
# selected phases of the selected specs, re-check the pinned experiments, write the report site to artifacts/site/.
#
#   ci/reports.sh                                       Phase1 Phase2 and Compare on the embedded default specs
#   CODILAB_PHASES="Phase1" CODILAB_SPECS="experiments/a.yaml experiments/b.yaml" ci/reports.sh
#   CODILAB_VERIFY=0 ci/reports.sh                      skip Verify (e.g. no pins committed yet)
#
# Exit code: the first failing step's (build.sh passes on codilab's: 2 bad spec, 3 bad input, 5 corrupt cache, 6 drift).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
phases=${CODILAB_PHASES:-Phase1 Phase2}
specs=()
for spec in ${CODILAB_SPECS:-}; do specs+=("--spec=$spec"); done

step() { echo "== $*"; "$@"; }
start=$SECONDS
step dotnet restore CodiLab.slnx --nologo -v quiet
for phase in $phases; do step ./build.sh --target=$phase ${specs[@]+"${specs[@]}"}; done
# Compare needs exactly two specs (none: the embedded pair).
if [ "${#specs[@]}" -eq 0 ] || [ "${#specs[@]}" -eq 2 ]; then step ./build.sh --target=Compare ${specs[@]+"${specs[@]}"}; fi
if [ "${CODILAB_VERIFY:-1}" = 1 ]; then step ./build.sh --target=Verify; fi
step ./build.sh --target=Experiments
step ./build.sh --target=Report
echo "reports: artifacts/site/index.html ($((SECONDS - start)) s)"

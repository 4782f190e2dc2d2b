# Bootstrap only: restore the Cake tool, build the solution, hand the arguments to build/build.cake.
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'; $env:DOTNET_NOLOGO = '1'; $env:CAKE_SETTINGS_ENABLESCRIPTCACHE = 'true'
dotnet tool restore | Out-Null; if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
dotnet build CodiLab.slnx -c Release -nologo -v quiet -clp:NoSummary; if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
dotnet cake build/build.cake @args
exit $LASTEXITCODE

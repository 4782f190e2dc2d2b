# Bootstrap only: restore the Cake tool and build codilab when (and only when) their inputs changed since the last
# successful time, then hand the arguments to build/build.cake (the same steps as build.sh).
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'; $env:DOTNET_NOLOGO = '1'; $env:CAKE_SETTINGS_ENABLESCRIPTCACHE = 'true'
if ([Console]::IsOutputRedirected) { $env:NO_COLOR = '1' }

$configuration = 'Release'
$quiet = @('--verbosity=quiet', '--no-report')
for ($i = 0; $i -lt $args.Count; $i++) {
    $arg = [string]$args[$i]
    if ($arg -like '--configuration=*') { $configuration = $arg.Substring(16) }
    elseif ($arg -eq '--configuration' -and $i + 1 -lt $args.Count) { $configuration = [string]$args[$i + 1] }
    if ($arg -like '--verbosity*' -or $arg -eq '-v') { $quiet = @() }
}

$stamps = 'build/obj'
New-Item -ItemType Directory -Force -Path $stamps | Out-Null
# True when the stamp is missing or a file or folder under the given paths (bin/ and obj/ aside) is newer than it.
function Changed([string]$stamp, [string[]]$paths) {
    if (-not (Test-Path $stamp)) { return $true }
    $since = (Get-Item $stamp).LastWriteTimeUtc
    foreach ($path in $paths) {
        if (-not (Test-Path $path)) { continue }
        $items = @(Get-Item $path) + @(Get-ChildItem $path -Recurse -Force -ErrorAction SilentlyContinue |
            Where-Object { $_.FullName -notmatch '[\\/](bin|obj)([\\/]|$)' })
        if ($items | Where-Object { $_.LastWriteTimeUtc -gt $since } | Select-Object -First 1) { return $true }
    }
    return $false
}

$packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
# Cake is started straight from the NuGet cache (as build.sh does), skipping the SDK's tool lookup on each call.
$cakeVersion = (Get-Content '.config/dotnet-tools.json' -Raw | ConvertFrom-Json).tools.'cake.tool'.version
$cakeDll = Join-Path $packages "cake.tool/$cakeVersion/tools/net10.0/any/Cake.dll"
if ((Changed "$stamps/tools.stamp" @('.config/dotnet-tools.json')) -or -not (Test-Path $cakeDll)) {
    New-Item -ItemType File -Force -Path "$stamps/tools.next" | Out-Null
    dotnet tool restore | Out-Null; if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    Move-Item -Force "$stamps/tools.next" "$stamps/tools.stamp"
}
$inputs = @('src', 'Directory.Build.props', 'Directory.Build.targets', 'Directory.Packages.props', 'CodiLab.slnx', 'global.json', 'nuget.config')
if ((Changed "$stamps/codilab-$configuration.stamp" $inputs) -or -not (Test-Path "src/CodiLab.Cli/bin/$configuration/net10.0/codilab.dll")) {
    New-Item -ItemType File -Force -Path "$stamps/codilab.next" | Out-Null
    dotnet build src/CodiLab.Cli/CodiLab.Cli.csproj -c $configuration -nologo -v quiet -clp:NoSummary
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    Move-Item -Force "$stamps/codilab.next" "$stamps/codilab-$configuration.stamp"
}
if (Test-Path $cakeDll) { dotnet $cakeDll build/build.cake @quiet @args } else { dotnet cake build/build.cake @quiet @args }
exit $LASTEXITCODE

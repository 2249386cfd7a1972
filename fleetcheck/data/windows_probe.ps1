# fleetcheck's Windows probe. Comment lines and indentation are stripped before it is
# sent (-EncodedCommand must fit cmd.exe's 8191-character line). NONCE and TOOL are
# filled in per run. Every error falls through to netstat: an error is never "nothing".
# Each way out says "done" last: output cut short is never taken for the whole.
$ErrorActionPreference='Stop'
try{[Console]::OutputEncoding=[Text.Encoding]::UTF8}catch{}
$M='@@fleetcheck:NONCE';$T='TOOL'
"$M os Windows";"$M release $([Environment]::OSVersion.Version)"
$a=0;try{
  $p=New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
  if($p.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)){$a=1}}catch{}
"$M admin $a"
if(($T -eq '' -or $T -eq 'powershell') -and (Get-Command Get-NetTCPConnection -ErrorAction SilentlyContinue)){
  $j=$null;try{
    # image names with their extension, as tasklist and netstat -b print them
    $n=@{};try{Get-CimInstance Win32_Process|%{$n[[int]$_.ProcessId]=$_.Name}}
    catch{Get-Process|%{$n[[int]$_.Id]=$_.ProcessName+'.exe'}}
    $s=@{};try{Get-CimInstance Win32_Service -Filter 'ProcessId>0'|%{$s[[int]$_.ProcessId]=@($s[[int]$_.ProcessId])+$_.Name}}catch{}
    # a service is named only when it is the one service in its process
    function R($k,$e,$st){$o=[int]$e.OwningProcess;$v=@($s[$o]|?{$_})
      [pscustomobject]@{Protocol=$k;LocalAddress=[string]$e.LocalAddress;LocalPort=[int]$e.LocalPort;State=$st
        OwningProcess=$o;ProcessName=$n[$o];Service=$(if($v.Count -eq 1){$v[0]}else{$null})}}
    $r=@(Get-NetTCPConnection -State Listen|%{R 'TCP' $_ ([int]$_.State)})+@(Get-NetUDPEndpoint|%{R 'UDP' $_ $null})
    $j=ConvertTo-Json -InputObject $r -Compress -Depth 2
  }catch{"$M begin powershell";"$_";"$M end powershell 1"}
  if($j -ne $null){"$M begin powershell";$j;"$M end powershell 0";"$M done";exit 0}}
if($T -eq '' -or $T -eq 'windows-netstat'){
  "$M begin windows-netstat.netstat";$o=netstat -ano;$c=$LASTEXITCODE;$o;"$M end windows-netstat.netstat $c"
  if($c -eq 0){"$M begin windows-netstat.tasklist";tasklist /fo csv /nh;"$M end windows-netstat.tasklist $LASTEXITCODE";"$M done";exit 0}}
"$M notool"
"$M done"

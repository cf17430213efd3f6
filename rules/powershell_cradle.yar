// A PowerShell download cradle in any text: a script, a macro, a shortcut's
// arguments, a mail body. It needs both a way to fetch (WebClient,
// Invoke-WebRequest, BITS) and a way to run what was fetched (IEX,
// Invoke-Expression, an encoded command), so that documentation that merely
// mentions one of them does not match. ASCII and UTF-16 (PowerShell's own
// encoding for -EncodedCommand) are both searched.
rule powershell_download_cradle
{
    meta:
        description = "PowerShell that downloads and runs code"
    strings:
        $fetch1 = "Net.WebClient" nocase ascii wide
        $fetch2 = "DownloadString" nocase ascii wide
        $fetch3 = "DownloadData" nocase ascii wide
        $fetch4 = "Invoke-WebRequest" nocase ascii wide
        $fetch5 = "Invoke-RestMethod" nocase ascii wide
        $fetch6 = "Start-BitsTransfer" nocase ascii wide
        $fetch7 = /\b(iwr|irm)\s+(-Uri\s+)?["']?https?:\/\// nocase ascii wide
        $run1 = /\bIEX\b/ nocase ascii wide
        $run2 = "Invoke-Expression" nocase ascii wide
        $run3 = /powershell(\.exe)?\s+[^\r\n]{0,80}-e(nc|ncodedcommand)?\s+[A-Za-z0-9+\/=]{20,}/ nocase ascii wide
        $run4 = "FromBase64String" nocase ascii wide
    condition:
        any of ($fetch*) and any of ($run*)
}

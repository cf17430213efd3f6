// A VBA macro that runs on its own (an auto-exec procedure) and starts a
// program or fetches something from the network. Written for the VBA
// source that the office plugins hand over after decompressing each module
// ([MS-OVBA]), not for the compressed stream, where words are split by
// compression tokens.
rule vba_autoexec_shell_or_download
{
    meta:
        description = "VBA auto-exec procedure that runs a program or downloads"
    strings:
        // Procedures Office runs without the user asking.
        $auto1 = /Sub\s+(Auto_?Open|AutoExec|AutoNew|AutoClose|Auto_Close)\b/ nocase
        $auto2 = /Sub\s+(Document|Workbook)_(Open|Close|BeforeClose|Activate|New)\b/ nocase
        $auto3 = /Sub\s+(InkPicture1_Painted|Frame1_Layout|MultiPage1_Layout|Label1_Click)\b/ nocase
        // Starting a program.
        $run1 = /\bShell\s*[\(\s"]/ nocase
        $run2 = "WScript.Shell" nocase
        $run3 = "Shell.Application" nocase
        $run4 = /\.(Run|Exec|ShellExecute)\s*[\(\s"]/ nocase
        $run5 = "CreateProcess" nocase
        $run6 = "powershell" nocase
        // Fetching from the network.
        $net1 = "URLDownloadToFile" nocase
        $net2 = "MSXML2.XMLHTTP" nocase
        $net3 = "WinHttp.WinHttpRequest" nocase
        $net4 = "Microsoft.XMLHTTP" nocase
        $net5 = "InternetOpenUrl" nocase
    condition:
        any of ($auto*) and (any of ($run*) or any of ($net*))
}

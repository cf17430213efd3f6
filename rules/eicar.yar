// The EICAR anti-malware test file: 68 bytes every scanner recognises, so a
// gateway can be tested end to end without real malware. It matches the
// string anywhere, which also catches it inside archives and attachments
// once the rebuild hands them over.
rule eicar_test_file
{
    meta:
        description = "EICAR anti-malware test file"
        reference = "https://www.eicar.org/download-anti-malware-testfile/"
    strings:
        $eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    condition:
        $eicar
}

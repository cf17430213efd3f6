// A Windows (PE) or Linux (ELF) program inside another file: a document,
// an image, a mail part. A program at the very start of a file is the
// `executables` class, which the host decides by itself; these rules catch
// the ones carried inside, past offset 0, by checking the headers that
// make them runnable rather than the two letters "MZ" alone.
rule embedded_pe
{
    meta:
        description = "Windows program (PE) embedded past the start of the file"
    strings:
        $mz = "MZ"
    condition:
        for any i in (1..#mz) : (
            @mz[i] > 0 and
            uint32(@mz[i] + 0x3C) < 0x1000 and
            uint32(@mz[i] + uint32(@mz[i] + 0x3C)) == 0x00004550
        )
}

rule embedded_elf
{
    meta:
        description = "Linux program (ELF) embedded past the start of the file"
    strings:
        // Magic, class 32/64, data LSB/MSB, version 1.
        $elf = { 7F 45 4C 46 (01 | 02) (01 | 02) 01 }
    condition:
        for any i in (1..#elf) : (
            @elf[i] > 0 and
            // e_type: relocatable, executable or shared object (either byte order).
            (uint16(@elf[i] + 16) == 2 or uint16(@elf[i] + 16) == 3 or
             uint16be(@elf[i] + 16) == 2 or uint16be(@elf[i] + 16) == 3)
        )
}

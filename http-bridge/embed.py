#!/usr/bin/env python3
"""embed.py IN OUT SYMBOL: write OUT, a C file defining SYMBOL (the bytes of
IN, NUL-terminated) and SYMBOL_len, so the binary needs no data files."""
import sys

src, out, sym = sys.argv[1:4]
data = open(src, "rb").read()
with open(out, "w") as f:
    f.write("/* generated from %s by embed.py; do not edit */\n" % src.split("/")[-1])
    f.write('#include <stddef.h>\n#include "hb/openapi.h"\n')
    f.write("const char %s[] = {\n" % sym)
    for i in range(0, len(data), 16):
        f.write("".join("%d," % b for b in data[i:i + 16]) + "\n")
    f.write("0};\nconst size_t %s_len = %d;\n" % (sym, len(data)))

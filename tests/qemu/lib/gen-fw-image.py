#!/usr/bin/env python3
"""Writes a synthetic ISP24xx+ RISC firmware image (the format of ql2400_fw.bin..ql2800_fw.bin
that drivers/qla2x00t/proto/src/fwimage.rs parses and the simulator's firmware model loads):
big-endian 32-bit words in two code segments; each segment starts with a 10-word header
(word 2: RISC load address, word 3: segment length in words, header included; words 4..7 of
the first must not be all zero or all ones; word 9: attributes). Not QLogic code: the words
are a recognisable pattern, which is all the model checks (it sums them).

usage: gen-fw-image.py OUTPUT [WORDS_PER_SEGMENT]
"""
import struct
import sys


def segment(addr: int, words: int, attributes: int, seed: int) -> bytes:
    header = [0, 0, addr, words,
              0x46455252, 0x554C4520, 0x53494D20, 0x46572031,  # "FERRULE SIM FW 1"
              0, attributes]
    body = [(seed * 0x9E3779B1 + i * 0x01000193) & 0xFFFFFFFF for i in range(words - len(header))]
    return struct.pack(">%dI" % words, *(header + body))


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    words = int(sys.argv[2]) if len(sys.argv) == 3 else 1024
    if words < 10:
        print("WORDS_PER_SEGMENT must be at least 10", file=sys.stderr)
        return 2
    image = segment(0x00100000, words, 0x0000_0000, 1) + segment(0x00200000, words, 0, 2)
    with open(sys.argv[1], "wb") as f:
        f.write(image)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Writes fixtures/quant_blocks.bin: random blocks of every weight format and their decoding by gguf-py (the
reference decoder). The unit test DequantTest.MatchesGgufPyBitForBit compares Tandem's decoder against it.

Format, repeated: u32 type id, u32 element count n, u32 byte count b, b raw bytes, n float32 values.
Run: .venv/bin/python tests/engine/make_quant_fixtures.py
"""
import os
import struct

import numpy as np
from gguf import GGMLQuantizationType as Q

from gguf_tools import dequantize, random_rows

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    rng = np.random.default_rng(1234)
    with open(os.path.join(HERE, "fixtures", "quant_blocks.bin"), "wb") as f:
        for qt in (Q.F16, Q.BF16, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0, Q.Q4_K, Q.Q5_K, Q.Q6_K):
            rows, cols = 4, 512
            raw = random_rows(qt, rows, cols, rng, scale=2.0)
            if qt == Q.BF16:
                ref = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
            else:
                ref = dequantize(raw, qt)
            data = np.ascontiguousarray(raw).view(np.uint8).tobytes()
            f.write(struct.pack("<III", int(qt), rows * cols, len(data)))
            f.write(data)
            f.write(np.ascontiguousarray(ref, dtype=np.float32).tobytes())


if __name__ == "__main__":
    main()

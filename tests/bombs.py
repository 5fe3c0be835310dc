"""Decompression bombs for tests: tiny PNG files whose header declares a huge image."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import Image


def write_bomb(path: Path, width: int = 60000, height: int = 60000) -> Path:
    """A 1x1 PNG whose IHDR is patched to declare `width` x `height` (about 70 bytes; decoding it fails)."""
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    # signature (8), then the IHDR chunk: length (4), b"IHDR", 13 bytes of data, then CRC of type + data
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))
    return path

"""The media payload: base64 of the msgpack of the command list.

User Pythons need not have msgpack: the few types commands hold (None, bools, ints, floats,
strings, lists and tuples) are packed here when it is missing, in the same format.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

try:
    import msgpack
except ImportError:
    msgpack = None


def encode_commands(commands: list[Any]) -> str:
    packed = msgpack.packb(commands, use_bin_type=True) if msgpack else pack(commands)
    return base64.b64encode(packed).decode("ascii")


def decode_commands(data: str) -> Any:
    if msgpack is None:
        raise RuntimeError("decoding drawing commands needs msgpack")
    return msgpack.unpackb(base64.b64decode(data), raw=False)


def pack(value: Any) -> bytes:
    """msgpack of a value made of None, bool, int, float, str, list and tuple."""
    if value is None:
        return b"\xc0"
    if value is True or value is False:
        return b"\xc3" if value else b"\xc2"
    if isinstance(value, int):
        return _pack_int(value)
    if isinstance(value, float):
        return b"\xcb" + struct.pack(">d", value)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _header(len(raw), 0xA0, 31, b"\xd9", b"\xda", b"\xdb") + raw
    if isinstance(value, (list, tuple)):
        head = _header(len(value), 0x90, 15, None, b"\xdc", b"\xdd")
        return head + b"".join(pack(item) for item in value)
    raise TypeError(f"cannot pack {type(value).__name__} in a drawing command")


def _header(size: int, fix: int, fix_max: int, one: bytes | None, two: bytes,
            four: bytes) -> bytes:
    if size <= fix_max:
        return bytes((fix | size,))
    if one is not None and size < 1 << 8:
        return one + struct.pack(">B", size)
    return two + struct.pack(">H", size) if size < 1 << 16 else four + struct.pack(">I", size)


UNSIGNED = ((">B", b"\xcc"), (">H", b"\xcd"), (">I", b"\xce"), (">Q", b"\xcf"))
SIGNED = ((">b", b"\xd0"), (">h", b"\xd1"), (">i", b"\xd2"), (">q", b"\xd3"))


def _pack_int(value: int) -> bytes:
    if 0 <= value < 128:
        return bytes((value,))
    if -32 <= value < 0:
        return struct.pack(">b", value)
    for fmt, code in UNSIGNED if value > 0 else SIGNED:
        bits = 8 * struct.calcsize(fmt)
        if (value < 1 << bits) if value > 0 else (value >= -(1 << (bits - 1))):
            return code + struct.pack(fmt, value)
    raise OverflowError(f"{value} does not fit in 64 bits")

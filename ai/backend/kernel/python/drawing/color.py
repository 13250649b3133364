"""RGBA colours, written on the wire as `#rrggbbaa`."""

from __future__ import annotations

import enum
from collections.abc import Sequence


class Color:
    """One RGBA colour, each channel 0-255."""

    def __init__(self, red: int, green: int, blue: int, alpha: int = 255) -> None:
        self.red, self.green, self.blue, self.alpha = red, green, blue, alpha

    @staticmethod
    def from_hex(value: str) -> Color:
        digits = value.lstrip("#")
        channels = [int(digits[i:i + 2], 16) for i in range(0, len(digits), 2)]
        return Color(*channels)

    @staticmethod
    def from_rgba(value: Sequence[int]) -> Color:
        return Color(*value)

    @staticmethod
    def from_bytes(value: bytes) -> Color:
        return Color(*value[:4])

    def to_hex(self, include_alpha: bool = True) -> str:
        channels = (self.red, self.green, self.blue) + ((self.alpha,) if include_alpha else ())
        return "#" + "".join(f"{c:02x}" for c in channels)

    def to_bytes(self) -> bytes:
        return bytes((self.red, self.green, self.blue, self.alpha))

    def to_rgba(self) -> str:
        return f"rgba({self.red},{self.green},{self.blue},{self.alpha})"


class Colors(Color, enum.Enum):
    """The named colours of the original API."""

    Transparent = (255, 255, 255, 0)
    Black = (0, 0, 0, 255)
    Gray = (128, 128, 128, 255)
    White = (255, 255, 255, 255)
    Red = (255, 0, 0, 255)
    Green = (0, 255, 0, 255)
    Blue = (0, 0, 255, 255)
    Yellow = (255, 255, 0, 255)
    Magenta = (255, 0, 255, 255)
    Cyan = (0, 255, 255, 255)

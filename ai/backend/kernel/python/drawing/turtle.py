"""A turtle on a canvas: a triangle cursor that draws a translucent red line as it moves."""

from __future__ import annotations

import math
from typing import Any

from .color import Color, Colors

TRAIL = Color(255, 0, 0, 128)
CURSOR_FILL = Color(255, 200, 200, 255)


class Vec2D(tuple):
    """A 2-D vector, as the standard library's turtle has it (that module needs tkinter)."""

    def __new__(cls, x: float, y: float) -> Vec2D:
        return tuple.__new__(cls, (x, y))

    def __add__(self, other: Any) -> Vec2D:  # type: ignore[override]
        return Vec2D(self[0] + other[0], self[1] + other[1])

    def __sub__(self, other: Any) -> Vec2D:
        return Vec2D(self[0] - other[0], self[1] - other[1])

    def __mul__(self, other: Any) -> Any:  # type: ignore[override]
        if isinstance(other, Vec2D):
            return self[0] * other[0] + self[1] * other[1]
        return Vec2D(self[0] * other, self[1] * other)

    def __rmul__(self, other: Any) -> Any:  # type: ignore[override]
        return self * other if isinstance(other, (int, float)) else NotImplemented

    def __neg__(self) -> Vec2D:
        return Vec2D(-self[0], -self[1])

    def __abs__(self) -> float:
        return math.hypot(self[0], self[1])

    def rotate(self, angle: float) -> Vec2D:
        """Counterclockwise by `angle` degrees."""
        c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        return Vec2D(self[0] * c - self[1] * s, self[1] * c + self[0] * s)

    def __getnewargs__(self) -> tuple[float, float]:  # type: ignore[override]
        return self[0], self[1]

    def __repr__(self) -> str:
        return f"({self[0]:.2f},{self[1]:.2f})"


class Turtle:
    """Starts at the canvas centre facing right (angle 90, clockwise from up), pen down."""

    def __init__(self, canvas: Any) -> None:
        self.canvas = canvas
        self.pen = True
        self.angle = 90.0
        start = (canvas.width / 2, canvas.height / 2)
        self.points: list[tuple[float, float]] = [start]
        self.cursor = canvas.triangle(*start, 12, 18, border=Colors.Red, fill=CURSOR_FILL,
                                      angle=90)

    def _move_to(self, x: float, y: float) -> None:
        self.canvas.begin_group()
        if self.pen:
            self.canvas.line(*self.points[-1], x, y, color=TRAIL)
        self.cursor.set_x(x)
        self.cursor.set_y(y)
        self.canvas.end_group()
        self.points.append((x, y))

    def forward(self, amount: float) -> None:
        x, y = self.points[-1]
        a = math.radians(self.angle)
        self._move_to(x + math.sin(a) * amount, y - math.cos(a) * amount)

    def left(self, degrees: float) -> None:
        self.cursor.rotate(-degrees)
        self.angle -= degrees

    def right(self, degrees: float) -> None:
        self.cursor.rotate(degrees)
        self.angle += degrees

    def pos(self) -> Vec2D:
        """Where the turtle is, relative to where it started."""
        (x0, y0), (x, y) = self.points[0], self.points[-1]
        return Vec2D(x - x0, y - y0)

    def penup(self) -> None:
        self.pen = False

    def pendown(self) -> None:
        self.pen = True

    def setpos(self, x: Any, y: float | None = None) -> None:
        """Move to (x, y) relative to the start; `setpos((x, y))` works too."""
        if y is None:
            x, y = x
        x0, y0 = self.points[0]
        self._move_to(x + x0, y + y0)

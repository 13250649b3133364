"""A canvas records drawing commands; `update()` (or `show()`) sends them and starts afresh.

Each command is a tuple whose first element is the canvas id (PROTOCOL §10.1 lists them).
"""

from __future__ import annotations

import itertools
from typing import Any

from .color import Color, Colors
from .emit import MEDIA_TYPE, emit
from .encoding import encode_commands

_canvas_ids = itertools.count()
SHAPES_WITH_POSITION = frozenset({"rect", "circle", "triangle"})
OUTLINED_SHAPES = frozenset({"rect", "circle", "triangle"})


class DrawingObject:
    """A shape on a canvas; its setters record `update` commands for properties it has."""

    def __init__(self, canvas: Canvas, object_id: int, kind: str) -> None:
        self._canvas = canvas
        self._id = object_id
        self._type = kind

    def _update(self, prop: str, value: Any, *kinds: str) -> None:
        if not kinds or self._type in kinds:
            self._canvas._record("update", self._id, prop, value)

    def set_x(self, x: float) -> None:
        self._update("x", x, *SHAPES_WITH_POSITION)

    def set_y(self, y: float) -> None:
        self._update("y", y, *SHAPES_WITH_POSITION)

    def set_x1(self, x: float) -> None:
        self._update("x1", x, "line")

    def set_y1(self, y: float) -> None:
        self._update("y1", y, "line")

    def set_x2(self, x: float) -> None:
        self._update("x2", x, "line")

    def set_y2(self, y: float) -> None:
        self._update("y2", y, "line")

    def set_radius(self, r: float) -> None:
        self._update("radius", r, "circle")

    def rotate(self, a: float) -> None:
        self._update("rotate", a)

    def set_angle(self, a: float) -> None:
        self._update("angle", a)

    def stroke(self, color: Color) -> None:
        """The line's colour, or the border of a filled shape."""
        prop = "color" if self._type == "line" else "border"
        self._update(prop, color.to_hex(), "line", *OUTLINED_SHAPES)

    def fill(self, color: Color) -> None:
        self._update("fill", color.to_hex(), *OUTLINED_SHAPES)


class Canvas:
    """A drawing surface of `width` x `height` that the front end renders."""

    def __init__(self, width: float, height: float, bgcolor: Color = Colors.White,
                 fgcolor: Color = Colors.Black) -> None:
        self._id = next(_canvas_ids)
        self._cmd_history: list[tuple[Any, ...]] = []
        self._next_objid = 0
        self.width, self.height = width, height
        self.bgcolor, self.fgcolor = bgcolor, fgcolor
        self._record("canvas", width, height, bgcolor.to_hex(), fgcolor.to_hex())

    def _record(self, *command: Any) -> None:
        self._cmd_history.append((self._id, *command))

    def update(self) -> None:
        """Send what was drawn since the last update, as one `media` record."""
        emit(MEDIA_TYPE, encode_commands(self._cmd_history))
        self._cmd_history = []

    show = update

    def create_turtle(self) -> Any:
        from .turtle import Turtle
        return Turtle(self)

    def stop_animation(self) -> None:
        self._record("stop-anim")

    def resume_animation(self) -> None:
        self._record("resume-anim")

    def begin_group(self) -> None:
        self._record("begin-group")

    def end_group(self) -> None:
        self._record("end-group")

    def begin_fill(self, c: Color) -> None:
        self._record("begin-fill", c.to_hex())

    def end_fill(self) -> None:
        self._record("end-fill")

    def background_color(self, c: Color) -> None:
        self.bgcolor = c
        self._record("bgcolor", c.to_hex())

    def stroke_color(self, c: Color) -> None:
        self.fgcolor = c
        self._record("fgcolor", c.to_hex())

    def _add(self, shape: tuple[Any, ...]) -> DrawingObject:
        obj = DrawingObject(self, self._next_objid, shape[0])
        self._record("obj", self._next_objid, shape)
        self._next_objid += 1
        return obj

    def line(self, x0: float, y0: float, x1: float, y1: float,
             color: Color | None = None) -> DrawingObject:
        return self._add(("line", x0, y0, x1, y1, (color or self.fgcolor).to_hex()))

    def circle(self, x: float, y: float, radius: float, border: Color | None = None,
               fill: Color | None = None, angle: float = 0) -> DrawingObject:
        return self._add(("circle", x, y, radius, *self._colors(border, fill), angle))

    def rectangle(self, left: float, top: float, width: float, height: float,
                  border: Color | None = None, fill: Color | None = None,
                  angle: float = 0) -> DrawingObject:
        return self._add(("rect", left, top, width, height, *self._colors(border, fill), angle))

    def triangle(self, left: float, top: float, width: float, height: float,
                 border: Color | None = None, fill: Color | None = None,
                 angle: float = 0) -> DrawingObject:
        return self._add(("triangle", left, top, width, height, *self._colors(border, fill),
                          angle))

    def _colors(self, border: Color | None, fill: Color | None) -> tuple[str, str]:
        return (border or self.fgcolor).to_hex(), (fill or Colors.Transparent).to_hex()

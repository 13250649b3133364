"""The drawing API (PROTOCOL §10.1): a `Canvas` records drawing commands and `update()`/`show()`
sends them to the front end as `media` of type `application/x-sorna-drawing`; a `Turtle`
draws on a canvas. Works in query mode and in batch mode (see `emit`)."""

from .canvas import Canvas, DrawingObject
from .color import Color, Colors
from .turtle import Turtle, Vec2D

__all__ = ("Canvas", "Color", "Colors", "DrawingObject", "Turtle", "Vec2D")

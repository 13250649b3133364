"""A small vector drawing (rectangles, lines, text) written as SVG by hand or as PNG with
Pillow, so both files show exactly the same picture."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str
    width: float = 1.0


@dataclass(frozen=True, slots=True)
class Text:
    x: float
    y: float
    text: str
    size: int = 12
    fill: str = "#222"
    anchor: str = "start"  # start, middle, end
    bold: bool = False


@dataclass(slots=True)
class Drawing:
    width: int
    height: int
    shapes: list[Rect | Line | Text] = field(default_factory=list)

    def add(self, shape: Rect | Line | Text) -> None:
        self.shapes.append(shape)

    def save(self, path: Path) -> None:
        suffix = path.suffix.lower()
        if suffix == ".svg":
            data = svg(self).encode()
        elif suffix == ".png":
            data = png(self)
        else:
            raise ValueError(f"cannot draw {path}: give a name ending in .svg or .png")
        path.write_bytes(data)


def svg(d: Drawing) -> str:
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{d.width}" height="{d.height}" '
           f'viewBox="0 0 {d.width} {d.height}" font-family="DejaVu Sans, Helvetica, Arial, '
           'sans-serif">', f'<rect width="{d.width}" height="{d.height}" fill="#ffffff"/>']
    for s in d.shapes:
        if isinstance(s, Rect):
            tip = f"<title>{escape(s.title)}</title>" if s.title else ""
            out.append(f'<rect x="{s.x:.1f}" y="{s.y:.1f}" width="{max(s.w, 0.5):.1f}" '
                       f'height="{s.h:.1f}" fill="{s.fill}">{tip}</rect>')
        elif isinstance(s, Line):
            out.append(f'<line x1="{s.x1:.1f}" y1="{s.y1:.1f}" x2="{s.x2:.1f}" '
                       f'y2="{s.y2:.1f}" stroke="{s.stroke}" stroke-width="{s.width}"/>')
        else:
            weight = ' font-weight="bold"' if s.bold else ""
            out.append(f'<text x="{s.x:.1f}" y="{s.y:.1f}" font-size="{s.size}" '
                       f'fill="{s.fill}" text-anchor="{s.anchor}"{weight}>'
                       f'{escape(s.text)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def png(d: Drawing) -> bytes:
    """The same drawing rasterised by Pillow (text in Pillow's bundled font)."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (d.width, d.height), "#ffffff")
    pen = ImageDraw.Draw(image)
    fonts: dict[int, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}
    anchors = {"start": "ls", "middle": "ms", "end": "rs"}
    for s in d.shapes:
        if isinstance(s, Rect):
            pen.rectangle([s.x, s.y, s.x + max(s.w, 1.0), s.y + s.h], fill=s.fill)
        elif isinstance(s, Line):
            pen.line([s.x1, s.y1, s.x2, s.y2], fill=s.stroke, width=max(round(s.width), 1))
        else:
            font = fonts.get(s.size) or fonts.setdefault(s.size, ImageFont.load_default(s.size))
            pen.text((s.x, s.y), s.text, fill=s.fill, font=font, anchor=anchors[s.anchor])
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()

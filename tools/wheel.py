"""A pure-Python wheel written from a folder, with nothing but the standard library.

Enough for the bundle's two packages: METADATA, WHEEL, top_level.txt and a RECORD of sha256
hashes, as `pip install` checks them (PEP 427, PEP 376).
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

WHEEL = ("Wheel-Version: 1.0\nGenerator: krunner tools.wheel\nRoot-Is-Purelib: true\n"
         "Tag: py3-none-any\n")


def write_wheel(dist_dir: Path, name: str, version: str, root: Path, folder: Path,
                summary: str) -> Path:
    """Pack `folder` (paths kept relative to `root`, e.g. site-packages) as `name==version`."""
    stem = f"{name.replace('-', '_')}-{version}"
    info = f"{stem}.dist-info"
    metadata = (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n"
                "Requires-Python: >=3.11\n")
    top_level = folder.relative_to(root).parts[0] + "\n"
    files = {p.relative_to(root).as_posix(): p.read_bytes()
             for p in sorted(folder.rglob("*")) if p.is_file()}
    files[f"{info}/METADATA"] = metadata.encode()
    files[f"{info}/WHEEL"] = WHEEL.encode()
    files[f"{info}/top_level.txt"] = top_level.encode()
    record = [f"{path},sha256={_digest(data)},{len(data)}" for path, data in files.items()]
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    dist_dir.mkdir(parents=True, exist_ok=True)
    out = dist_dir / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
    return out


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

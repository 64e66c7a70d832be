"""PruneUpdateConfig: after a prune, the newest pruned row's time goes back into config.json as
PruneSkipToTimestamp, so the next run starts where this one ended (SPEC.md §7).

Only that one value changes: the number is replaced in place (or the key added as the object's first member,
indented like the next one), and the result is checked to parse to the old config plus the new value; when it
would not, the file is written again as indented JSON. The write is atomic: a temporary file beside it, flushed,
then renamed over it with the same permissions, so a crash leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import orjson

KEY = "PruneSkipToTimestamp"
EXISTING = re.compile(rf'("{KEY}"\s*:\s*)-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?')
OPENING = re.compile(r"^(\s*\{)([ \t]*\r?\n?)([ \t]*)")


def write_skip_to(path: str | Path, seconds: int) -> None:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    current: dict[str, Any] = orjson.loads(text)
    wanted = {**current, KEY: int(seconds)}
    updated = _edited(text, int(seconds))
    if updated is None or orjson.loads(updated) != wanted:
        updated = orjson.dumps(wanted, option=orjson.OPT_INDENT_2).decode() + "\n"
    _replace_atomically(path, updated)


def _edited(text: str, seconds: int) -> str | None:
    if len(EXISTING.findall(text)) == 1:
        return EXISTING.sub(lambda m: f"{m.group(1)}{seconds}", text)
    opening = OPENING.match(text)
    if opening is None or KEY in text:
        return None
    _, newline, indent = opening.groups()
    if "\n" in newline:
        line_end = newline.lstrip(" \t")
        return text[: opening.end()] + f'"{KEY}": {seconds},{line_end}{indent}' + text[opening.end() :]
    return text[: opening.end(1)] + f'"{KEY}": {seconds}, ' + text[opening.end(1) :].lstrip(" \t")


def _replace_atomically(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)

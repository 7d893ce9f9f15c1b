"""Built-in rule presets, shipped as JSON data (domain.md §5–6).

``_base.json`` holds every parameter with its default and, where known, its source:
``["C", "..."]`` confirmed by a published source, ``["A", "..."]`` an assumed, editable default.
Each other file names a preset and the parameters where it differs from the base.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class BuiltinPreset:
    key: str
    name: str
    description: str
    params: dict[str, Any]
    sources: dict[str, list[str]] = field(default_factory=dict)
    is_default: bool = False


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def base_params() -> dict[str, Any]:
    return dict(_read(HERE / "_base.json")["params"])


def builtin_presets() -> list[BuiltinPreset]:
    """Every shipped preset, its parameters merged over the base, the default first."""
    base = _read(HERE / "_base.json")
    presets = []
    for path in sorted(HERE.glob("*.json")):
        if path.name.startswith("_"):
            continue
        data = _read(path)
        presets.append(
            BuiltinPreset(
                key=data["key"],
                name=data["name"],
                description=data.get("description", ""),
                params={**base["params"], **data.get("params", {})},
                sources={**base.get("sources", {}), **data.get("sources", {})},
                is_default=bool(data.get("default")),
            )
        )
    presets.sort(key=lambda p: (not p.is_default, p.key))
    return presets


def parameter_sources() -> dict[str, list[str]]:
    return dict(_read(HERE / "_base.json").get("sources", {}))

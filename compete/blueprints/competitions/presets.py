"""Rule presets in the database: the built-in ones, copies, and new versions on edit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ... import audit
from ...domain import N_
from ...domain.errors import InvalidInput
from ...domain.rules import validate_params
from ...extensions import db
from ...models import RulePreset, RulePresetVersion
from ...presets import builtin_presets


def ensure_builtin_presets(actor=None) -> list[RulePreset]:
    """Insert the shipped presets once; a shipped change becomes a new version of that preset."""
    out = []
    existing = {p.key: p for p in db.session.scalars(select(RulePreset))}
    for shipped in builtin_presets():
        params = validate_params(shipped.params)
        preset = existing.get(shipped.key)
        if preset is None:
            preset = RulePreset(
                key=shipped.key,
                name=shipped.name,
                description=shipped.description,
                is_builtin=True,
            )
            db.session.add(preset)
            db.session.flush()
            db.session.add(
                RulePresetVersion(preset=preset, version=1, params=params, note="shipped")
            )
            db.session.flush()
        elif preset.latest.params != params:
            add_version(actor, preset, params=params, note="shipped update")
        out.append(preset)
    return out


def default_preset() -> RulePreset:
    presets = ensure_builtin_presets()
    shipped_default = next(p.key for p in builtin_presets() if p.is_default)
    return next(p for p in presets if p.key == shipped_default)


def add_version(
    actor, preset: RulePreset, *, params: dict[str, Any], note: str = ""
) -> RulePresetVersion:
    """Record edited parameters as the next version; earlier versions stay as they were."""
    params = validate_params(params)
    latest = preset.latest if preset.versions else None
    version = RulePresetVersion(
        preset=preset,
        version=(latest.version + 1) if latest else 1,
        params=params,
        note=note,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(version)
    db.session.flush()
    audit.record(
        actor,
        "preset.version_added",
        preset,
        before=latest.params if latest else None,
        after=params,
        reason=note or None,
    )
    return version


def copy_preset(actor, source: RulePreset, *, key: str, name: str) -> RulePreset:
    """A new, editable preset starting from ``source``'s latest parameters."""
    key = key.strip()
    if not key or not key.replace("_", "").replace("-", "").isalnum():
        raise InvalidInput(N_("A preset key uses letters, digits, '-' and '_' only."), field="key")
    if db.session.scalar(select(RulePreset.id).where(RulePreset.key == key)):
        raise InvalidInput(N_("The preset key %(key)s is taken."), field="key", key=key)
    preset = RulePreset(
        key=key,
        name=name.strip() or key,
        description=source.description,
        based_on_id=source.id,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(preset)
    db.session.flush()
    add_version(
        actor,
        preset,
        params=dict(source.latest.params),
        note=f"copied from {source.key} v{source.latest.version}",
    )
    return preset

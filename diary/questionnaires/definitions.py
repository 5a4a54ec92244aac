"""Questionnaire instruments, defined as data (diary/data/instruments/*.json).

Each file holds an instrument's items, recall period, due rule and scoring parameters; the
scoring *rules* live in `scoring.py`. The shipped item texts of licensed instruments (OSDI,
EQ-5D-5L) are our own placeholder paraphrases. A site that holds a licence points
settings.QUESTIONNAIRE_TEXT_DIR at a folder of `<code>.json` files carrying the official wording;
those files may change texts only (never items, ranges or scoring), so that a wording file cannot
change what a score means.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "instruments"
NOT_APPLICABLE = "na"
NOT_APPLICABLE_LABEL = "Not applicable"

_OPTION = {
    "type": "object",
    "required": ["value", "label"],
    "properties": {"value": {"type": "integer"}, "label": {"type": "string", "minLength": 1}},
    "additionalProperties": False,
}
_ITEM = {
    "type": "object",
    "required": ["key", "kind", "text"],
    "properties": {
        "key": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]*$"},
        "kind": {"enum": ["scale", "choice", "vas"]},
        "text": {"type": "string", "minLength": 1},
        "section": {"type": "string"},
        "min": {"type": "integer"},
        "max": {"type": "integer"},
        "min_label": {"type": "string"},
        "max_label": {"type": "string"},
        "options": {"type": "array", "items": _OPTION, "minItems": 2},
        "not_applicable": {"type": "boolean"},
    },
    "additionalProperties": False,
}
INSTRUMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "code",
        "name",
        "short_name",
        "reference",
        "wording",
        "wording_notice",
        "recall_days",
        "due_every_days",
        "instructions",
        "items",
        "scoring",
    ],
    "properties": {
        "code": {"type": "string", "pattern": "^[a-z0-9_]+$"},
        "order": {"type": "integer"},
        "name": {"type": "string"},
        "short_name": {"type": "string"},
        "reference": {"type": "string"},
        "wording": {"enum": ["placeholder", "paraphrase", "licensed"]},
        "wording_notice": {"type": "string"},
        "recall_days": {"type": "integer", "minimum": 1},
        "due_every_days": {"type": "integer", "minimum": 1},
        "instructions": {"type": "string"},
        "sections": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "title"],
                "properties": {"key": {"type": "string"}, "title": {"type": "string"}},
                "additionalProperties": False,
            },
        },
        "items": {"type": "array", "items": _ITEM, "minItems": 1},
        "scoring": {
            "type": "object",
            "required": ["method", "range", "lower_is_better"],
            "properties": {"method": {"enum": ["mean", "sum_scaled", "eq5d_profile"]}},
        },
    },
    "additionalProperties": False,
}
# A site's wording file: texts only, keyed by item key.
_TEXTS = {"type": "object", "additionalProperties": {"type": "string"}}
WORDING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "wording": {"enum": ["placeholder", "paraphrase", "licensed"]},
        "wording_notice": {"type": "string"},
        "instructions": {"type": "string"},
        "sections": _TEXTS,
        "items": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "text": {"type": "string", "minLength": 1},
                    "min_label": {"type": "string"},
                    "max_label": {"type": "string"},
                    "options": _TEXTS,
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Option:
    value: int | str
    label: str


@dataclass(frozen=True)
class Item:
    key: str
    kind: str  # "scale" (0-10 numeric), "choice" (labelled levels), "vas" (0-100)
    text: str
    options: tuple[Option, ...]
    allows_not_applicable: bool
    section: str | None = None
    min_label: str = ""
    max_label: str = ""

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(o.value for o in self.options if isinstance(o.value, int))

    @property
    def min_value(self) -> int:
        return min(self.values)

    @property
    def max_value(self) -> int:
        return max(self.values)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Band:
    key: str
    label: str
    lower: float  # inclusive lower edge; a band ends where the next one starts


@dataclass(frozen=True)
class Instrument:
    code: str
    order: int
    name: str
    short_name: str
    reference: str
    wording: str
    wording_notice: str
    recall_days: int
    due_every_days: int
    instructions: str
    items: tuple[Item, ...]
    section_titles: tuple[tuple[str, str], ...]
    scoring: dict[str, Any]

    @property
    def item_keys(self) -> tuple[str, ...]:
        return tuple(i.key for i in self.items)

    @property
    def bands(self) -> tuple[Band, ...]:
        return tuple(
            Band(b["key"], b["label"], float(b["from"])) for b in self.scoring.get("bands", ())
        )

    @property
    def lower_is_better(self) -> bool:
        return bool(self.scoring["lower_is_better"])

    @property
    def score_range(self) -> tuple[float, float]:
        low, high = self.scoring["range"]
        return float(low), float(high)

    @property
    def acceptable_below(self) -> float | None:
        value = self.scoring.get("acceptable_below")
        return None if value is None else float(value)

    @property
    def sections(self) -> tuple[Section, ...]:
        """Items grouped as the form shows them (one group per item when there are no sections)."""
        if not self.section_titles:
            return tuple(Section(i.key, i.text, (i,)) for i in self.items)
        return tuple(
            Section(key, title, tuple(i for i in self.items if i.section == key))
            for key, title in self.section_titles
        )


def _options(raw: dict) -> tuple[Option, ...]:
    if raw["kind"] == "choice":
        options = tuple(Option(o["value"], o["label"]) for o in raw["options"])
    else:
        options = tuple(Option(v, str(v)) for v in range(raw["min"], raw["max"] + 1))
    if raw.get("not_applicable"):
        options += (Option(NOT_APPLICABLE, NOT_APPLICABLE_LABEL),)
    return options


def _apply_wording(raw: dict, wording: dict, source: Path) -> dict:
    """Overlay a site's licensed texts on a definition; refuse anything but texts."""
    try:
        jsonschema.validate(wording, WORDING_SCHEMA)
    except jsonschema.ValidationError as exc:
        raise ImproperlyConfigured(f"{source}: {exc.message} at {list(exc.absolute_path)}") from exc
    raw = json.loads(json.dumps(raw))  # deep copy
    for key in ("name", "wording", "wording_notice", "instructions"):
        if key in wording:
            raw[key] = wording[key]
    raw["wording"] = wording.get("wording", "licensed")
    titles = wording.get("sections", {})
    for section in raw.get("sections", []):
        section["title"] = titles.pop(section["key"], section["title"])
    if titles:
        raise ImproperlyConfigured(f"{source}: unknown section(s) {sorted(titles)}")
    items = dict(wording.get("items", {}))
    for item in raw["items"]:
        texts = items.pop(item["key"], {})
        item.update({k: v for k, v in texts.items() if k != "options"})
        labels = dict(texts.get("options", {}))
        for option in item.get("options", []):
            option["label"] = labels.pop(str(option["value"]), option["label"])
        if labels:
            raise ImproperlyConfigured(
                f"{source}: item {item['key']} has no option(s) {sorted(labels)}"
            )
    if items:
        raise ImproperlyConfigured(f"{source}: unknown item(s) {sorted(items)}")
    return raw


def _check_items(raw: dict, source: Path) -> None:
    keys = [i["key"] for i in raw["items"]]
    if len(set(keys)) != len(keys):
        raise ImproperlyConfigured(f"{source}: item keys repeat")
    sections = {s["key"] for s in raw.get("sections", [])}
    for item in raw["items"]:
        if item["kind"] == "choice" and "options" not in item:
            raise ImproperlyConfigured(f"{source}: choice item {item['key']} needs options")
        if item["kind"] != "choice" and not ("min" in item and "max" in item):
            raise ImproperlyConfigured(f"{source}: item {item['key']} needs min and max")
        if sections and item.get("section") not in sections:
            raise ImproperlyConfigured(f"{source}: item {item['key']} has an unknown section")


def _build(raw: dict) -> Instrument:
    items = tuple(
        Item(
            key=i["key"],
            kind=i["kind"],
            text=i["text"],
            options=_options(i),
            allows_not_applicable=bool(i.get("not_applicable")),
            section=i.get("section"),
            min_label=i.get("min_label", ""),
            max_label=i.get("max_label", ""),
        )
        for i in raw["items"]
    )
    return Instrument(
        code=raw["code"],
        order=raw.get("order", 100),
        name=raw["name"],
        short_name=raw["short_name"],
        reference=raw["reference"],
        wording=raw["wording"],
        wording_notice=raw["wording_notice"],
        recall_days=raw["recall_days"],
        due_every_days=raw["due_every_days"],
        instructions=raw["instructions"],
        items=items,
        section_titles=tuple((s["key"], s["title"]) for s in raw.get("sections", [])),
        scoring=raw["scoring"],
    )


def load_file(path: Path, *, text_dir: Path | None = None) -> Instrument:
    """Read, validate and (if the site has one) overlay the licensed wording of one instrument."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.validate(raw, INSTRUMENT_SCHEMA)
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(f"{path}: {exc}") from exc
    except jsonschema.ValidationError as exc:
        raise ImproperlyConfigured(f"{path}: {exc.message} at {list(exc.absolute_path)}") from exc
    _check_items(raw, path)
    if text_dir is not None:
        wording_file = text_dir / path.name
        if wording_file.is_file():
            try:
                wording = json.loads(wording_file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ImproperlyConfigured(f"{wording_file}: {exc}") from exc
            raw = _apply_wording(raw, wording, wording_file)
    return _build(raw)


@lru_cache(maxsize=4)
def _load_all(text_dir: str) -> dict[str, Instrument]:
    folder = Path(text_dir) if text_dir else None
    if folder is not None and not folder.is_dir():
        raise ImproperlyConfigured(f"QUESTIONNAIRE_TEXT_DIR={text_dir} is not a folder.")
    loaded = [load_file(path, text_dir=folder) for path in DATA_DIR.glob("*.json")]
    return {i.code: i for i in sorted(loaded, key=lambda i: (i.order, i.code))}


def all_instruments() -> dict[str, Instrument]:
    """Every instrument by code, in a stable order (definitions are data, not patient data)."""
    return _load_all(str(getattr(settings, "QUESTIONNAIRE_TEXT_DIR", "") or ""))


class UnknownInstrument(LookupError):
    pass


def get_instrument(code: str) -> Instrument:
    try:
        return all_instruments()[code]
    except KeyError:
        raise UnknownInstrument(code) from None

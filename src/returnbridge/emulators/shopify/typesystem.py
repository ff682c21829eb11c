"""The schema's building blocks: object/interface/input/enum/scalar definitions and input coercion.

Type references are written as SDL strings ("[ReturnLineItemInput!]!") and parsed once with the document parser,
so the schema below reads like the excerpts of ``store-apis.md`` Appendix A.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from .parser import EnumValue, TypeRef, _Parser

Resolver = Callable[[Any, dict[str, Any], Any], Any]

SCALARS = frozenset({"String", "Int", "Float", "Boolean", "ID", "Decimal", "Money", "DateTime", "URL",
                     "UnsignedInt64", "JSON", "FormattedString"})
CONNECTION_ARGS = {"first": "Int", "last": "Int", "after": "String", "before": "String"}

MAX_INT = 2**31 - 1


class FieldError(Exception):
    """A field that resolves to null with a top-level error (``RESOURCE_NOT_FOUND``, ``BAD_REQUEST``, ...)."""

    def __init__(self, message: str, code: str | None = None, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.extensions = extensions


@lru_cache(maxsize=512)
def type_ref(text: str) -> TypeRef:
    return _Parser(text).type_ref()


@dataclass(frozen=True)
class FieldDef:
    type: str
    resolve: Resolver
    args: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> TypeRef:
        return type_ref(self.type)


@dataclass(frozen=True)
class InputDef:
    fields: dict[str, str]
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass
class Schema:
    objects: dict[str, dict[str, FieldDef]] = field(default_factory=dict)
    # Abstract types (interfaces/unions): name → possible object types; their fields are in ``objects`` too.
    abstract: dict[str, tuple[str, ...]] = field(default_factory=dict)
    inputs: dict[str, InputDef] = field(default_factory=dict)
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    connections: set[str] = field(default_factory=set)

    def kind(self, name: str) -> str:
        if name in SCALARS:
            return "SCALAR"
        if name in self.enums:
            return "ENUM"
        if name in self.abstract:
            return "INTERFACE"
        if name in self.objects:
            return "OBJECT"
        if name in self.inputs:
            return "INPUT_OBJECT"
        return "UNKNOWN"

    def is_leaf(self, name: str) -> bool:
        return name in SCALARS or name in self.enums

    def fits(self, type_condition: str, runtime_type: str) -> bool:
        """Whether a fragment on ``type_condition`` applies to an object whose static type is ``runtime_type``."""
        if type_condition == runtime_type:
            return True
        if runtime_type in self.abstract and type_condition in self.abstract[runtime_type]:
            return True
        return type_condition in self.abstract and runtime_type in self.abstract[type_condition]


# --- input coercion ---------------------------------------------------------------------------------------------------

Problem = tuple[list[str | int], str]


def _describe(value: Any) -> str:
    if isinstance(value, EnumValue):
        return value.name
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _scalar(name: str, value: Any, literal: bool) -> tuple[Any, str | None]:
    bad = f"Could not coerce value {_describe(value)} to {name}"
    if isinstance(value, EnumValue):
        return None, bad
    if name == "Int":
        if isinstance(value, int) and not isinstance(value, bool) and -MAX_INT - 1 <= value <= MAX_INT:
            return value, None
        return None, bad
    if name in ("Float",):
        if isinstance(value, int | Decimal | float) and not isinstance(value, bool):
            return Decimal(str(value)), None
        return None, bad
    if name in ("String", "URL", "FormattedString"):
        return (value, None) if isinstance(value, str) else (None, bad)
    if name == "ID":
        if isinstance(value, str):
            return value, None
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value), None
        return None, bad
    if name == "Boolean":
        return (value, None) if isinstance(value, bool) else (None, bad)
    if name in ("Decimal", "Money"):
        # Shopify documents these as decimal strings; numbers are accepted too. Either way: Decimal, never float.
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            return None, bad
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            return None, bad
        return (amount, None) if amount.is_finite() else (None, bad)
    if name == "DateTime":
        if not isinstance(value, str):
            return None, bad
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None, bad
        if moment.tzinfo is None:
            return None, bad
        return moment, None
    if name == "UnsignedInt64":
        text = str(value)
        return (int(text), None) if text.isdigit() else (None, bad)
    return value, None  # JSON


def coerce(
    schema: Schema, ref: TypeRef, value: Any, path: list[str | int], *, literal: bool
) -> tuple[Any, list[Problem]]:
    """Coerce an input value (a JSON variable or a literal whose variables are already substituted).

    Returns the coerced value (Decimal for money, datetime for DateTime, str for enums, dict with only the fields
    given plus declared defaults for input objects) and the problems in graphql-ruby's words.
    """
    if value is None:
        if ref.non_null:
            return None, [(path, "Expected value to not be null")]
        return None, []
    if ref.of is not None:
        items = value if isinstance(value, list) else [value]
        out: list[Any] = []
        problems: list[Problem] = []
        for index, item in enumerate(items):
            coerced, found = coerce(schema, ref.of, item, [*path, index], literal=literal)
            out.append(coerced)
            problems.extend(found)
        return out, problems
    name = ref.name or ""
    if name in schema.enums:
        raw = value.name if isinstance(value, EnumValue) and literal else value if not literal else None
        if isinstance(raw, str) and raw in schema.enums[name]:
            return raw, []
        values = ", ".join(schema.enums[name])
        return None, [(path, f"Expected {_describe(value)} to be one of: {values}")]
    if name in schema.inputs:
        definition = schema.inputs[name]
        if not isinstance(value, dict):
            return None, [(path, f"Expected {_describe(value)} to be a key-value object.")]
        result: dict[str, Any] = {}
        problems = []
        for key in value:
            if key not in definition.fields:
                problems.append(([*path, key], f"Field is not defined on {name}"))
        for key, type_text in definition.fields.items():
            if key in value:
                coerced, found = coerce(schema, type_ref(type_text), value[key], [*path, key], literal=literal)
                result[key] = coerced
                problems.extend(found)
            elif key in definition.defaults:
                result[key] = definition.defaults[key]
            elif type_ref(type_text).non_null:
                problems.append(([*path, key], "Expected value to not be null"))
        return result, problems
    if name in SCALARS:
        coerced, problem = _scalar(name, value, literal)
        return (coerced, [(path, problem)]) if problem else (coerced, [])
    return None, [(path, f"Unknown input type {name}")]

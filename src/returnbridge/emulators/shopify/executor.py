"""Validation, cost calculation and execution of one parsed operation against the schema.

Order of work, as Shopify answers: pick the operation → static validation (fields, arguments, fragments,
directives, variable usage; errors without ``data``) → variable coercion (``INVALID_VARIABLE``, no ``data``) →
cost → execution (field errors null their field and add an entry with a ``path``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .money import render_amount
from .parser import (
    Directive,
    Document,
    EnumValue,
    Field,
    FragmentSpread,
    InlineFragment,
    Operation,
    Selection,
    TypeRef,
    Variable,
)
from .typesystem import CONNECTION_ARGS, FieldDef, FieldError, Schema, coerce, type_ref

ROOT_TYPES = {"query": "QueryRoot", "mutation": "Mutation"}
MUTATION_BASE_COST = 10


class RequestError(Exception):
    """The whole request fails with these top-level errors (no ``data``)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "request error")
        self.errors = errors


def error(message: str, *, node: Any = None, path: list | None = None, code: str | None = None,
          **extensions: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"message": message}
    if node is not None and getattr(node, "line", None):
        entry["locations"] = [{"line": node.line, "column": node.column}]
    if path is not None:
        entry["path"] = path
    if code is not None or extensions:
        entry["extensions"] = {**({"code": code} if code else {}), **extensions}
    return entry


def choose_operation(document: Document, operation_name: str | None) -> Operation:
    if operation_name:
        for operation in document.operations:
            if operation.name == operation_name:
                return operation
        raise RequestError([error(f'No operation named "{operation_name}"')])
    if len(document.operations) != 1:
        if not document.operations:
            raise RequestError([error("Document does not contain any operations")])
        raise RequestError([error("An operation name is required")])
    return document.operations[0]


def operation_label(operation: Operation) -> str:
    return f"{operation.kind} {operation.name}" if operation.name else operation.kind


# --- static validation -------------------------------------------------------------------------------------------


def _print_value(value: Any) -> str:
    if isinstance(value, Variable):
        return f"${value.name}"
    if isinstance(value, EnumValue):
        return value.name
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_print_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_print_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _has_variable(value: Any) -> bool:
    if isinstance(value, Variable):
        return True
    if isinstance(value, list):
        return any(_has_variable(v) for v in value)
    if isinstance(value, dict):
        return any(_has_variable(v) for v in value.values())
    return False


@dataclass
class _Validator:
    schema: Schema
    document: Document
    operation: Operation
    errors: list[dict[str, Any]] = field(default_factory=list)
    declared: dict[str, TypeRef] = field(default_factory=dict)

    def run(self) -> list[dict[str, Any]]:
        label = operation_label(self.operation)
        for definition in self.operation.variables:
            named = definition.type.named
            if self.schema.kind(named) not in ("SCALAR", "ENUM", "INPUT_OBJECT"):
                self.errors.append(error(f"{named} isn't a defined input type (on ${definition.name})",
                                         path=[label], code="variableRequiresValidType",
                                         typeName=named, variableName=definition.name))
            self.declared[definition.name] = definition.type
        for directive in self.operation.directives:
            if directive.name == "idempotent":
                kind = "mutations" if self.operation.kind == "mutation" else "queries"
                self.errors.append(error(f"'@idempotent' can't be applied to {kind} (allowed: fields)",
                                         node=directive, path=[label], code="directiveCannotBeApplied",
                                         targetName=self.operation.kind, name="idempotent"))
            elif directive.name not in ("include", "skip"):
                self.errors.append(error(f"Directive @{directive.name} is not defined", node=directive,
                                         path=[label], code="undefinedDirective", directiveName=directive.name))
        root = ROOT_TYPES[self.operation.kind]
        self.selections(root, self.operation.selections, [label], set())
        return self.errors

    def selections(self, type_name: str, selections: list[Selection], path: list, seen: set[str]) -> None:
        for selection in selections:
            self.directives(selection.directives, path)
            if isinstance(selection, Field):
                self.field(type_name, selection, path, seen)
            elif isinstance(selection, FragmentSpread):
                fragment = self.document.fragments.get(selection.name)
                if fragment is None:
                    self.errors.append(error(f"Fragment {selection.name} was used, but not defined",
                                             node=selection, path=[*path, f"... {selection.name}"],
                                             code="useAndDefineFragment", fragmentName=selection.name))
                    continue
                if not self._fragment_fits(fragment.type_condition, type_name, selection, path):
                    continue
                if selection.name in seen:
                    continue  # a cycle; graphql-ruby reports it too, but one fragment loop is enough here
                self.selections(fragment.type_condition, fragment.selections,
                                [*path, f"... {selection.name}"], seen | {selection.name})
            else:
                condition = selection.type_condition or type_name
                if not self._fragment_fits(condition, type_name, selection, path):
                    continue
                self.selections(condition, selection.selections, [*path, f"... on {condition}"], seen)

    def _fragment_fits(self, condition: str, type_name: str, node: Any, path: list) -> bool:
        if self.schema.kind(condition) not in ("OBJECT", "INTERFACE"):
            self.errors.append(error(f"No such type {condition}, so it can't be a fragment condition",
                                     node=node, path=path, code="undefinedType", typeName=condition))
            return False
        if not self.schema.fits(condition, type_name):
            self.errors.append(error(f"Fragment on {condition} can't be spread inside {type_name}", node=node,
                                     path=path, code="cannotSpreadFragment"))
            return False
        return True

    def directives(self, directives: list[Directive], path: list) -> None:
        for directive in directives:
            if directive.name not in ("include", "skip", "idempotent"):
                self.errors.append(error(f"Directive @{directive.name} is not defined", node=directive,
                                         path=path, code="undefinedDirective", directiveName=directive.name))
                continue
            wanted = "key" if directive.name == "idempotent" else "if"
            wanted_type = "String!" if directive.name == "idempotent" else "Boolean!"
            if wanted not in directive.arguments:
                self.errors.append(error(f"Directive '@{directive.name}' is missing required arguments: {wanted}",
                                         node=directive, path=path, code="missingRequiredArguments"))
            for name, value in directive.arguments.items():
                if name != wanted:
                    self.errors.append(error(f"Directive '@{directive.name}' doesn't accept argument '{name}'",
                                             node=directive, path=path, code="argumentNotAccepted"))
                else:
                    self.value_usage(value, type_ref(wanted_type), name, directive, path)

    def field(self, type_name: str, node: Field, path: list, seen: set[str]) -> None:
        field_path = [*path, node.key]
        if node.name == "__typename":
            return
        definition = self.schema.objects.get(type_name, {}).get(node.name)
        if definition is None:
            # Live captures show undefined-field errors without extensions.code (store-apis.md A.9).
            self.errors.append(error(f"Field '{node.name}' doesn't exist on type '{type_name}'", node=node,
                                     path=field_path))
            return
        self.arguments(definition, node, field_path)
        named = definition.ref.named
        if self.schema.is_leaf(named):
            if node.selections:
                self.errors.append(error(
                    f"Selections can't be made on scalars (field '{node.name}' returns {named} but has "
                    f"selections [{', '.join(s.name for s in node.selections if isinstance(s, Field))}])",
                    node=node, path=field_path, code="selectionMismatch", nodeName=f"field '{node.name}'",
                    typeName=named))
            return
        if not node.selections:
            self.errors.append(error(
                f"Field must have selections (field '{node.name}' returns {definition.type} but has no "
                f"selections. Did you mean '{node.name} {{ ... }}'?)",
                node=node, path=field_path, code="selectionMismatch", nodeName=f"field '{node.name}'",
                typeName=definition.type))
            return
        self.selections(named, node.selections, field_path, seen)

    def arguments(self, definition: FieldDef, node: Field, path: list) -> None:
        for name, value in node.arguments.items():
            expected = definition.args.get(name)
            if expected is None:
                self.errors.append(error(f"Field '{node.name}' doesn't accept argument '{name}'", node=node,
                                         path=[*path, name], code="argumentNotAccepted", name=node.name,
                                         typeName="Field", argumentName=name))
                continue
            self.value_usage(value, type_ref(expected), name, node, path, field_name=node.name)
        missing = [name for name, text in definition.args.items()
                   if type_ref(text).non_null and name not in definition.defaults and name not in node.arguments]
        if missing:
            self.errors.append(error(f"Field '{node.name}' is missing required arguments: {', '.join(missing)}",
                                     node=node, path=path, code="missingRequiredArguments",
                                     className="Field", name=node.name, arguments=", ".join(missing)))
        if (definition.ref.named in self.schema.connections
                and "first" not in node.arguments and "last" not in node.arguments):
            self.errors.append(error("you must provide one of first or last", node=node, path=path))

    def value_usage(self, value: Any, expected: TypeRef, arg: str, node: Any, path: list,
                    field_name: str | None = None) -> None:
        """Variables used where ``expected`` goes must be declared with a matching type; literals must coerce."""
        if isinstance(value, Variable):
            declared = self.declared.get(value.name)
            if declared is None:
                self.errors.append(error(
                    f"Variable ${value.name} is used by {operation_label(self.operation)} but not declared",
                    node=node, path=path, code="variableNotDefined", variableName=value.name))
                return
            if not _compatible(declared, expected):
                self.errors.append(error(
                    f"Type mismatch on variable ${value.name} and argument {arg} ({declared} / {expected})",
                    node=node, path=path, code="variableMismatch", variableName=value.name,
                    typeName=str(declared), argumentName=arg, errorMessage="Type mismatch"))
            return
        if _has_variable(value):
            # Walk into lists and input objects to check nested variables against their field types.
            inner = expected.of if expected.of is not None else expected
            if isinstance(value, list):
                for item in value:
                    self.value_usage(item, inner if expected.of is not None else expected, arg, node, path)
            elif isinstance(value, dict) and expected.named in self.schema.inputs:
                fields = self.schema.inputs[expected.named].fields
                for key, item in value.items():
                    if key in fields:
                        self.value_usage(item, type_ref(fields[key]), key, node, path)
                    else:
                        self.errors.append(error(f"InputObject '{expected.named}' doesn't accept argument '{key}'",
                                                 node=node, path=path, code="argumentNotAccepted"))
            return
        _, problems = coerce(self.schema, expected, value, [], literal=True)
        if not problems:
            return
        undefined = [p for p in problems if p[1].startswith("Field is not defined on ")]
        if undefined:
            for problem_path, explanation in undefined:
                owner = explanation.removeprefix("Field is not defined on ")
                self.errors.append(error(f"InputObject '{owner}' doesn't accept argument '{problem_path[-1]}'",
                                         node=node, path=path, code="argumentNotAccepted",
                                         name=owner, typeName="InputObject", argumentName=problem_path[-1]))
            return
        where = f"Field '{field_name}'" if field_name else "Directive"
        self.errors.append(error(
            f"Argument '{arg}' on {where} has an invalid value ({_print_value(value)}). Expected type "
            f"'{expected}'.", node=node, path=path, code="argumentLiteralsIncompatible",
            typeName=where.split(" ")[0].strip("'"), argumentName=arg))


def _compatible(declared: TypeRef, expected: TypeRef) -> bool:
    if expected.non_null and not declared.non_null:
        return False
    if (declared.of is None) != (expected.of is None):
        return declared.of is None and False
    if declared.of is not None and expected.of is not None:
        return _compatible(declared.of, expected.of)
    return declared.name == expected.name


def validate(schema: Schema, document: Document, operation: Operation) -> list[dict[str, Any]]:
    return _Validator(schema, document, operation).run()


def coerce_variables(schema: Schema, operation: Operation, raw: dict[str, Any]) -> dict[str, Any]:
    """Coerce the request's variables against their declarations; raise ``INVALID_VARIABLE`` errors."""
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for definition in operation.variables:
        if definition.name in raw:
            given = raw[definition.name]
            value, problems = coerce(schema, definition.type, given, [], literal=False)
        elif definition.has_default:
            given = definition.default
            value, problems = coerce(schema, definition.type, definition.default, [], literal=True)
        else:
            given = None
            value, problems = coerce(schema, definition.type, None, [], literal=False)
            if not problems:
                continue  # an absent nullable variable stays absent
        if problems:
            details = ", ".join(f"{'.'.join(str(p) for p in path)} ({why})" if path else why
                                for path, why in problems)
            where = " for " + details if any(path for path, _ in problems) else f" ({details})"
            errors.append(error(
                f"Variable ${definition.name} of type {definition.type} was provided invalid value{where}",
                code="INVALID_VARIABLE", value=given,
                problems=[{"path": path, "explanation": why} for path, why in problems]))
            continue
        values[definition.name] = value
    if errors:
        raise RequestError(errors)
    return values


# --- fields, arguments, directives at run time ---------------------------------------------------------------------


def substitute(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, Variable):
        return variables.get(value.name)
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, variables) for k, v in value.items() if not (
            isinstance(v, Variable) and v.name not in variables)}
    return value


def _included(directives: list[Directive], variables: dict[str, Any]) -> bool:
    for directive in directives:
        if directive.name in ("skip", "include"):
            condition = bool(substitute(directive.arguments.get("if"), variables))
            if (directive.name == "skip") == condition:
                return False
    return True


def collect_fields(schema: Schema, type_name: str, selections: list[Selection], document: Document,
                   variables: dict[str, Any]) -> dict[str, list[Field]]:
    """Response key → the fields selected under it, fragments flattened (spec "CollectFields")."""
    grouped: dict[str, list[Field]] = {}

    def walk(items: list[Selection], seen: frozenset[str]) -> None:
        for selection in items:
            if not _included(selection.directives, variables):
                continue
            if isinstance(selection, Field):
                grouped.setdefault(selection.key, []).append(selection)
            elif isinstance(selection, FragmentSpread):
                fragment = document.fragments.get(selection.name)
                if fragment and selection.name not in seen and schema.fits(fragment.type_condition, type_name):
                    walk(fragment.selections, seen | {selection.name})
            elif isinstance(selection, InlineFragment) and (
                    selection.type_condition is None or schema.fits(selection.type_condition, type_name)):
                walk(selection.selections, seen)

    walk(selections, frozenset())
    return grouped


def field_arguments(schema: Schema, definition: FieldDef, node: Field, variables: dict[str, Any]) -> dict[str, Any]:
    args: dict[str, Any] = dict(definition.defaults)
    for name, raw in node.arguments.items():
        value = substitute(raw, variables)
        if isinstance(raw, Variable) and raw.name not in variables:
            continue
        coerced, problems = coerce(schema, type_ref(definition.args[name]), value, [name],
                                   literal=not isinstance(raw, Variable) and not _has_variable(raw))
        if problems and _has_variable(raw):
            # Variables were coerced already; a literal enum next to a variable arrives as EnumValue.
            coerced, problems = coerce(schema, type_ref(definition.args[name]), _plain(value), [name],
                                       literal=False)
        args[name] = coerced
    return args


def _plain(value: Any) -> Any:
    if isinstance(value, EnumValue):
        return value.name
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# --- pagination ------------------------------------------------------------------------------------------------------


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:{index}".encode()).decode()


def _index(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise FieldError(f"Invalid cursor for current pagination sort: {cursor}") from None
    if not text.startswith("cursor:") or not text[7:].isdigit():
        raise FieldError(f"Invalid cursor for current pagination sort: {cursor}")
    return int(text[7:])


@dataclass
class Page:
    items: list[Any]
    start: int
    has_next: bool
    has_previous: bool

    def cursor(self, offset: int) -> str:
        return _cursor(self.start + offset)


def paginate(items: list[Any], args: dict[str, Any]) -> Page:
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise FieldError("you must provide one of first or last")
    if (first is not None and first > 250) or (last is not None and last > 250):
        raise FieldError("The maximum page size is 250.")
    after, before = _index(args.get("after")), _index(args.get("before"))
    start = 0 if after is None else after + 1
    end = len(items) if before is None else min(before, len(items))
    window = list(range(start, max(start, end)))
    has_previous = start > 0
    has_next = end < len(items)
    if first is not None:
        has_next = has_next or len(window) > first
        window = window[:first]
    if last is not None:
        has_previous = has_previous or len(window) > last
        window = window[-last:] if last else []
    return Page([items[i] for i in window], window[0] if window else start, has_next, has_previous)


# --- cost ------------------------------------------------------------------------------------------------------------


def query_cost(schema: Schema, document: Document, operation: Operation, variables: dict[str, Any],
               data: dict[str, Any] | None = None) -> int:
    """Requested cost (``data`` None, page sizes from first/last) or actual cost (page sizes from ``data``).

    Documented basis (A.7): scalars and enums 0, objects 1, mutations 10 plus their payload selection. Connections
    cost 2 plus, per node, 1 + the node's selection; inside a node a nested connection counts 2 + its page size
    without multiplying its own nodes again (the exact formula is not documented; this one keeps the documents of
    Appendix A.5 under the 1000-point cap and is applied the same way to requested and actual cost).
    """
    root = ROOT_TYPES[operation.kind]
    return _cost(schema, document, root, operation.selections, variables, data, nested=False,
                 root=operation.kind == "mutation")


def _page_size(args: dict[str, Any]) -> int:
    size = args.get("first") if args.get("first") is not None else args.get("last")
    return int(size) if isinstance(size, int) else 0


def _cost(schema: Schema, document: Document, type_name: str, selections: list[Selection],
          variables: dict[str, Any], data: Any, *, nested: bool, root: bool = False) -> int:
    total = 0
    fields = collect_fields(schema, type_name, selections, document, variables)
    for key, nodes in fields.items():
        node = nodes[0]
        definition = schema.objects.get(type_name, {}).get(node.name)
        if definition is None:
            continue
        named = definition.ref.named
        if schema.is_leaf(named):
            continue
        child_selections = [s for n in nodes for s in n.selections]
        value = data.get(key) if isinstance(data, dict) else None
        if named in schema.connections:
            args = {k: substitute(v, variables) for k, v in node.arguments.items()}
            base = named[: -len("Connection")]
            items = _connection_items(schema, document, named, child_selections, variables, value)
            if nested:
                count = _page_size(args) if data is None else len(items)
                total += 2 + count
                continue
            node_cost = 0
            node_selections = _node_selections(schema, document, named, child_selections, variables)
            if data is None:
                node_cost = _page_size(args) * (1 + _cost(schema, document, base, node_selections, variables,
                                                          None, nested=True))
            else:
                for item in items:
                    node_cost += 1 + _cost(schema, document, base, node_selections, variables, item, nested=True)
            total += 2 + node_cost
            continue
        own = MUTATION_BASE_COST if root else 1
        if definition.ref.of is not None:
            # A plain list of objects counts as one object (a documented simplification).
            value = value[0] if isinstance(value, list) and value else (None if isinstance(value, list) else value)
        if data is not None and value is None and not root:
            continue
        total += own + _cost(schema, document, named, child_selections, variables, value, nested=nested)
    return total


def _node_selections(schema: Schema, document: Document, connection: str, selections: list[Selection],
                     variables: dict[str, Any]) -> list[Selection]:
    found: list[Selection] = []
    for key, nodes in collect_fields(schema, connection, selections, document, variables).items():
        del key
        for node in nodes:
            if node.name == "nodes":
                found.extend(node.selections)
            elif node.name == "edges":
                edge = connection[: -len("Connection")] + "Edge"
                for sub in collect_fields(schema, edge, node.selections, document, variables).values():
                    for inner in sub:
                        if inner.name == "node":
                            found.extend(inner.selections)
    return found


def _connection_items(schema: Schema, document: Document, connection: str, selections: list[Selection],
                      variables: dict[str, Any], value: Any) -> list[Any]:
    if not isinstance(value, dict):
        return []
    for key, nodes in collect_fields(schema, connection, selections, document, variables).items():
        if nodes[0].name == "nodes" and isinstance(value.get(key), list):
            return value[key]
        if nodes[0].name == "edges" and isinstance(value.get(key), list):
            edge = connection[: -len("Connection")] + "Edge"
            node_keys = [k for k, n in collect_fields(schema, edge, nodes[0].selections, document,
                                                      variables).items() if n[0].name == "node"]
            return [e.get(node_keys[0]) if node_keys else {} for e in value[key]]
    return []


# --- execution -------------------------------------------------------------------------------------------------------


@dataclass
class Execution:
    schema: Schema
    document: Document
    operation: Operation
    variables: dict[str, Any]
    context: Any
    errors: list[dict[str, Any]] = field(default_factory=list)
    current_field: Field | None = None
    # Called before each root mutation field; may raise FieldError (e.g. a missing @idempotent).
    before_root_field: Callable[[Field, dict[str, Any]], None] | None = None

    def run(self, root_value: Any) -> dict[str, Any]:
        root = ROOT_TYPES[self.operation.kind]
        return self.selections(root, root_value, self.operation.selections, [], is_root=True)

    def selections(self, type_name: str, value: Any, selections: list[Selection], path: list,
                   is_root: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, nodes in collect_fields(self.schema, type_name, selections, self.document, self.variables).items():
            node = nodes[0]
            if node.name == "__typename":
                result[key] = type_name
                continue
            definition = self.schema.objects[type_name][node.name]
            field_path = [*path, key]
            try:
                args = field_arguments(self.schema, definition, node, self.variables)
                self.current_field = node
                if is_root and self.before_root_field is not None:
                    self.before_root_field(node, args)
                resolved = definition.resolve(value, args, self.context)
                if definition.ref.named in self.schema.connections:
                    resolved = paginate(list(resolved), args)
            except FieldError as failure:
                self.errors.append(error(failure.message, node=node, path=field_path, code=failure.code,
                                         **failure.extensions))
                result[key] = None
                continue
            child = [s for n in nodes for s in n.selections]
            result[key] = self.complete(definition.ref, resolved, child, field_path)
        return result

    def complete(self, ref: TypeRef, value: Any, selections: list[Selection], path: list) -> Any:
        if value is None:
            return None
        if ref.of is not None:
            return [self.complete(ref.of, item, selections, [*path, index]) for index, item in enumerate(value)]
        name = ref.name or ""
        if self.schema.is_leaf(name):
            return serialize(name, value)
        runtime = self.schema.abstract[name][0] if name in self.schema.abstract else name
        return self.selections(runtime, value, selections, path)


def serialize(type_name: str, value: Any) -> Any:
    if isinstance(value, Decimal):
        return render_amount(value) if type_name in ("Decimal", "Money") else float(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if type_name == "UnsignedInt64":
        return str(value)
    return value


def connection_fields(base: str) -> tuple[dict[str, FieldDef], dict[str, FieldDef]]:
    """The ``XConnection`` and ``XEdge`` object types over a :class:`Page` of ``base`` objects."""
    connection = {
        "nodes": FieldDef(f"[{base}!]!", lambda page, a, c: page.items),
        "edges": FieldDef(f"[{base}Edge!]!",
                          lambda page, a, c: [(item, page.cursor(i)) for i, item in enumerate(page.items)]),
        "pageInfo": FieldDef("PageInfo!", lambda page, a, c: page),
    }
    edge = {
        "node": FieldDef(f"{base}!", lambda pair, a, c: pair[0]),
        "cursor": FieldDef("String!", lambda pair, a, c: pair[1]),
    }
    return connection, edge


PAGE_INFO = {
    "hasNextPage": FieldDef("Boolean!", lambda page, a, c: page.has_next),
    "hasPreviousPage": FieldDef("Boolean!", lambda page, a, c: page.has_previous),
    "startCursor": FieldDef("String", lambda page, a, c: page.cursor(0) if page.items else None),
    "endCursor": FieldDef("String", lambda page, a, c: page.cursor(len(page.items) - 1) if page.items else None),
}

__all__ = ["CONNECTION_ARGS", "PAGE_INFO", "Execution", "RequestError", "choose_operation", "coerce_variables",
           "connection_fields", "error", "query_cost", "validate"]

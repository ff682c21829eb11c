"""A hand-written recursive-descent parser for the GraphQL subset the Admin API clients send.

Covers operations (query/mutation, named or shorthand), variable definitions with types and defaults, directives,
nested selection sets, aliases, arguments with every literal kind, variables, lists and objects, fragment
definitions, fragment spreads and inline fragments. Subscriptions and schema definitions are not needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


class GraphQLSyntaxError(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


# --- AST -------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass(frozen=True)
class EnumValue:
    name: str


@dataclass(frozen=True)
class TypeRef:
    """``name`` for a named type, ``of`` for a list; ``non_null`` for a trailing ``!``."""

    name: str | None = None
    of: TypeRef | None = None
    non_null: bool = False

    def __str__(self) -> str:
        inner = self.name if self.name is not None else f"[{self.of}]"
        return f"{inner}!" if self.non_null else str(inner)

    @property
    def named(self) -> str:
        return self.name if self.name is not None else self.of.named  # type: ignore[union-attr]


@dataclass
class Directive:
    name: str
    arguments: dict[str, Any]
    line: int
    column: int


@dataclass
class Field:
    name: str
    alias: str | None
    arguments: dict[str, Any]
    directives: list[Directive]
    selections: list[Selection]
    line: int
    column: int

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass
class FragmentSpread:
    name: str
    directives: list[Directive]
    line: int
    column: int


@dataclass
class InlineFragment:
    type_condition: str | None
    directives: list[Directive]
    selections: list[Selection]
    line: int
    column: int


Selection = Field | FragmentSpread | InlineFragment


@dataclass
class VariableDefinition:
    name: str
    type: TypeRef
    default: Any = None
    has_default: bool = False


@dataclass
class Operation:
    kind: str  # "query" or "mutation"
    name: str | None
    variables: list[VariableDefinition]
    directives: list[Directive]
    selections: list[Selection]
    line: int
    column: int


@dataclass
class Fragment:
    name: str
    type_condition: str
    selections: list[Selection]


@dataclass
class Document:
    operations: list[Operation] = field(default_factory=list)
    fragments: dict[str, Fragment] = field(default_factory=dict)


# --- lexer -----------------------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ignored>[\s,\ufeff]+|\#[^\n\r]*)
  | (?P<spread>\.\.\.)
  | (?P<punct>[!$&()\:=@\[\]{}|])
  | (?P<float>-?(?:0|[1-9]\d*)(?:\.\d+(?:[eE][+-]?\d+)?|[eE][+-]?\d+))
  | (?P<int>-?(?:0|[1-9]\d*))
  | (?P<block>\"\"\"(?:\\\"\"\"|[^"]|"(?!""))*\"\"\")
  | (?P<string>"(?:\\.|[^"\\\n\r])*")
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
    """,
    re.VERBOSE,
)

# Shopify (graphql-ruby) names tokens like this in its parse errors: 'Parse error on "}" (RCURLY) at [3, 5]'.
_PUNCT_NAMES = {
    "!": "BANG", "$": "VAR_SIGN", "(": "LPAREN", ")": "RPAREN", ":": "COLON", "=": "EQUALS", "@": "DIR_SIGN",
    "[": "LBRACKET", "]": "RBRACKET", "{": "LCURLY", "}": "RCURLY", "|": "PIPE", "&": "AMP", "...": "ELLIPSIS",
}


@dataclass(frozen=True)
class Token:
    kind: str
    value: str
    line: int
    column: int


def _unescape(raw: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = raw[i + 1]
        if nxt == "u":
            out.append(chr(int(raw[i + 2:i + 6], 16)))
            i += 6
            continue
        out.append({"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(nxt, nxt))
        i += 2
    return "".join(out)


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    line = 1
    line_start = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        column = pos - line_start + 1
        if match is None:
            raise GraphQLSyntaxError(f'Parse error on "{source[pos]}" (error) at [{line}, {column}]', line, column)
        kind = match.lastgroup or ""
        text = match.group()
        if kind != "ignored":
            if kind == "punct":
                tokens.append(Token(text, text, line, column))
            elif kind == "spread":
                tokens.append(Token("...", text, line, column))
            elif kind == "string":
                tokens.append(Token("string", _unescape(text[1:-1]), line, column))
            elif kind == "block":
                tokens.append(Token("string", text[3:-3].replace('\\"""', '"""').strip("\n"), line, column))
            else:
                tokens.append(Token(kind, text, line, column))
        newlines = text.count("\n")
        if newlines:
            line += newlines
            line_start = pos + text.rfind("\n") + 1
        pos = match.end()
    tokens.append(Token("eof", "", line, pos - line_start + 1))
    return tokens


# --- parser ----------------------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = tokenize(source)
        self.pos = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.pos]

    def error(self, token: Token | None = None) -> GraphQLSyntaxError:
        token = token or self.peek
        if token.kind == "eof":
            return GraphQLSyntaxError("Unexpected end of document", token.line, token.column)
        label = _PUNCT_NAMES.get(token.kind, token.kind.upper())
        if token.kind == "name":
            label = "IDENTIFIER"
        value = token.value if token.kind != "string" else f'"{token.value}"'
        return GraphQLSyntaxError(
            f'Parse error on "{value}" ({label}) at [{token.line}, {token.column}]', token.line, token.column
        )

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, kind: str) -> Token:
        if self.peek.kind != kind:
            raise self.error()
        return self.advance()

    def accept(self, kind: str) -> bool:
        if self.peek.kind == kind:
            self.pos += 1
            return True
        return False

    def name(self) -> str:
        return self.expect("name").value

    # document

    def document(self) -> Document:
        doc = Document()
        if self.peek.kind == "eof":
            raise self.error()
        while self.peek.kind != "eof":
            token = self.peek
            if token.kind == "{":
                doc.operations.append(
                    Operation("query", None, [], [], self.selection_set(), token.line, token.column)
                )
            elif token.kind == "name" and token.value in ("query", "mutation"):
                doc.operations.append(self.operation())
            elif token.kind == "name" and token.value == "fragment":
                fragment = self.fragment()
                doc.fragments[fragment.name] = fragment
            else:
                raise self.error()
        return doc

    def operation(self) -> Operation:
        token = self.advance()
        name = self.name() if self.peek.kind == "name" else None
        variables: list[VariableDefinition] = []
        if self.accept("("):
            while not self.accept(")"):
                variables.append(self.variable_definition())
        directives = self.directives()
        return Operation(token.value, name, variables, directives, self.selection_set(), token.line, token.column)

    def variable_definition(self) -> VariableDefinition:
        self.expect("$")
        name = self.name()
        self.expect(":")
        type_ref = self.type_ref()
        if self.accept("="):
            return VariableDefinition(name, type_ref, self.value(const=True), True)
        return VariableDefinition(name, type_ref)

    def type_ref(self) -> TypeRef:
        if self.accept("["):
            inner = self.type_ref()
            self.expect("]")
            return TypeRef(of=inner, non_null=self.accept("!"))
        return TypeRef(name=self.name(), non_null=self.accept("!"))

    def fragment(self) -> Fragment:
        self.advance()
        name = self.name()
        if name == "on":
            raise self.error(self.tokens[self.pos - 1])
        if self.peek.value != "on":
            raise self.error()
        self.advance()
        type_condition = self.name()
        self.directives()
        return Fragment(name, type_condition, self.selection_set())

    def directives(self) -> list[Directive]:
        found: list[Directive] = []
        while self.peek.kind == "@":
            token = self.advance()
            found.append(Directive(self.name(), self.arguments(), token.line, token.column))
        return found

    def selection_set(self) -> list[Selection]:
        self.expect("{")
        selections: list[Selection] = []
        while not self.accept("}"):
            selections.append(self.selection())
        if not selections:
            raise self.error(self.tokens[self.pos - 1])
        return selections

    def selection(self) -> Selection:
        token = self.peek
        if token.kind == "...":
            self.advance()
            if self.peek.kind == "name" and self.peek.value != "on":
                return FragmentSpread(self.name(), self.directives(), token.line, token.column)
            type_condition = None
            if self.peek.value == "on":
                self.advance()
                type_condition = self.name()
            directives = self.directives()
            return InlineFragment(type_condition, directives, self.selection_set(), token.line, token.column)
        name = self.name()
        alias = None
        if self.accept(":"):
            alias, name = name, self.name()
        arguments = self.arguments()
        directives = self.directives()
        selections = self.selection_set() if self.peek.kind == "{" else []
        return Field(name, alias, arguments, directives, selections, token.line, token.column)

    def arguments(self) -> dict[str, Any]:
        arguments: dict[str, Any] = {}
        if self.accept("("):
            while not self.accept(")"):
                name = self.name()
                self.expect(":")
                arguments[name] = self.value(const=False)
        return arguments

    def value(self, *, const: bool) -> Any:
        token = self.peek
        kind = token.kind
        if kind == "$" and not const:
            self.advance()
            return Variable(self.name())
        if kind == "int":
            self.advance()
            return int(token.value)
        if kind == "float":
            # Decimal, not float: money literals such as ``amount: 15.10`` must keep their exact value.
            self.advance()
            return Decimal(token.value)
        if kind == "string":
            self.advance()
            return token.value
        if kind == "name":
            self.advance()
            if token.value == "true":
                return True
            if token.value == "false":
                return False
            if token.value == "null":
                return None
            return EnumValue(token.value)
        if kind == "[":
            self.advance()
            items = []
            while not self.accept("]"):
                items.append(self.value(const=const))
            return items
        if kind == "{":
            self.advance()
            obj: dict[str, Any] = {}
            while not self.accept("}"):
                name = self.name()
                self.expect(":")
                obj[name] = self.value(const=const)
            return obj
        raise self.error()


def parse(source: str) -> Document:
    """Parse a GraphQL document; raises :class:`GraphQLSyntaxError` with the line and column of the problem."""
    return _Parser(source).document()

"""A configuration error in plain words, with the line of the file it is on.

pydantic says what failed in its own terms ("Extra inputs are not permitted") and by a path
through the parsed data; a person editing a TOML file needs the line, what is wrong there in
words, and for a misspelt name the nearest valid one. tomllib keeps no positions, so
`key_lines` reads the file's text for the line each table and key is defined on.

Values are shown only where the caller says the file holds none that are private (the
configuration does; the secrets and transfer-details files are never echoed).
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from mailbot.errors import ConfigError

Loc = tuple[str | int, ...]

_BARE = r"[A-Za-z0-9_-]+"
_KEY_PART = re.compile(rf"\s*(?:({_BARE})|\"((?:[^\"\\]|\\.)*)\"|'([^']*)')\s*")
_TOML_POSITION = re.compile(r"^(?P<what>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")

_TYPE_WORDS = {
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": 'must be text in quotes, like "this"',
    "date_type": "must be a date, like 2026-01-08",
    "date_parsing": "must be a date, like 2026-01-08",
    "date_from_datetime_parsing": "must be a date, like 2026-01-08",
    "date_from_datetime_inexact": "must be a date, like 2026-01-08",
    "time_type": "must be a time, like 10:00:00",
    "time_parsing": "must be a time, like 10:00:00",
    "tuple_type": 'must be a list, like ["a", "b"]',
    "list_type": 'must be a list, like ["a", "b"]',
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "path_type": 'must be a path in quotes, like "var"',
}
_PATTERN_WORDS = {"^[a-z0-9_-]+$": "must be lower-case letters, digits, _ and - only"}
_FIRST = {"extra_forbidden": 0, "union_tag_invalid": 0, "unknown_name": 0, "missing": 2}


def key_lines(text: str) -> dict[Loc, int]:
    """The line (1-based) each table and key is first defined on, by its path in the parsed
    data (arrays of tables by index, as tomllib gives them). Keys inside an inline table or a
    value spanning lines are not listed: `line_of` falls back to the enclosing key."""
    lines: dict[Loc, int] = {}
    arrays: dict[tuple[str, ...], int] = {}  # array-of-tables path (names only) -> entries
    table: Loc = ()
    carry = _Value()
    for number, line in enumerate(text.splitlines(), start=1):
        if carry.open:
            carry.scan(line)
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            array = stripped.startswith("[[")
            inner = stripped[2 if array else 1 :]
            parts, rest = _key(inner)
            if parts is None or not rest.startswith("]]" if array else "]"):
                continue
            table = _resolve(parts, arrays)
            if array:
                names = tuple(parts)
                arrays[names] = arrays.get(names, 0) + 1
                table = (*table, arrays[names] - 1)
            for end in range(1, len(table) + 1):
                lines.setdefault(table[:end], number)
            continue
        parts, rest = _key(stripped)
        if parts is None or not rest.startswith("="):
            continue
        path = (*table, *parts)
        for end in range(len(table) + 1, len(path) + 1):
            lines.setdefault(path[:end], number)
        carry = _Value()
        carry.scan(rest[1:])
    return lines


def line_of(lines: Mapping[Loc, int], path: Loc) -> int | None:
    """The line of `path`, or of the nearest enclosing table or key that has one."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def toml_syntax_error(path: Path, what: str, exc: Exception) -> ConfigError:
    """tomllib's own message (a position, never a value) as one line with the file's line."""
    found = _TOML_POSITION.match(str(exc))
    if found is None:
        return ConfigError("", f"{what} file {path} is not valid TOML ({exc}); correct it")
    words = found["what"][:1].lower() + found["what"][1:]
    return ConfigError(
        "",
        f"{path} line {found['line']}: not valid TOML ({words}, column {found['col']}); correct it",
    )


def explain(
    exc: ValidationError,
    *,
    prefix: str = "",
    source: Path | None = None,
    model: type[BaseModel] | None = None,
    data: Mapping[str, Any] | None = None,
    show_values: bool = False,
) -> ConfigError:
    """The one error a person should fix first, in words, with its file and line."""
    lines: dict[Loc, int] = {}
    if source is not None:
        try:
            lines = key_lines(source.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            lines = {}
    problems = [
        _Problem.of(error, model, data or {}, show_values)
        for error in exc.errors(include_input=show_values)
    ]
    for problem in problems:
        problem.line = line_of(lines, problem.line_path)
    first = min(problems, key=lambda p: (_FIRST.get(p.kind, 1), p.line or 0))
    key = ".".join(p for p in (prefix, first.name) if p)
    where = str(source) if source is not None else ""
    if first.line is not None:
        where = f"{where} line {first.line}".strip()
    text = first.words(first.name if source is not None else key)  # the file names itself
    error = ConfigError("", f"{where}: {text}" if where else text)
    error.key = key
    return error


class _Value:
    """Where a value that may span lines (an array, a multi-line string) has got to."""

    def __init__(self) -> None:
        self.depth = 0
        self.string = ""  # the quote of a multi-line string we are inside, if any

    @property
    def open(self) -> bool:
        return self.depth > 0 or bool(self.string)

    def scan(self, line: str) -> None:
        i = 0
        while i < len(line):
            if self.string:
                end = line.find(self.string, i)
                if end < 0:
                    return
                self.string, i = "", end + 3
                continue
            char = line[i]
            if line.startswith(('"""', "'''"), i):
                self.string, i = line[i : i + 3], i + 3
            elif char in "\"'":
                i = _string_end(line, i)
            elif char == "#":
                return
            else:
                self.depth += (char in "[{") - (char in "]}")
                i += 1


def _string_end(line: str, start: int) -> int:
    quote, i = line[start], start + 1
    while i < len(line) and line[i] != quote:
        i += 2 if quote == '"' and line[i] == "\\" else 1
    return i + 1


def _key(text: str) -> tuple[list[str] | None, str]:
    """A (dotted) key at the start of `text`, and what follows it."""
    parts: list[str] = []
    rest = text
    while True:
        found = _KEY_PART.match(rest)
        if found is None or found.end() == 0:
            return None, text
        parts.append(next(g for g in found.groups() if g is not None))
        rest = rest[found.end() :]
        if not rest.startswith("."):
            return parts, rest
        rest = rest[1:]


def _resolve(parts: Sequence[str], arrays: Mapping[tuple[str, ...], int]) -> Loc:
    """A table header's path, into the latest entry of any array of tables it is under."""
    path: list[str | int] = []
    for end, part in enumerate(parts, start=1):
        path.append(part)
        count = arrays.get(tuple(parts[:end]))
        if count and end < len(parts):
            path.append(count - 1)
    return tuple(path)


class _Problem:
    """One pydantic error, placed in the data and in the models it was validated against."""

    def __init__(self, error: ErrorDetails) -> None:
        self.kind = error["type"]
        self.ctx: dict[str, Any] = dict(error.get("ctx") or {})
        self.message = str(error["msg"]).removeprefix("Value error, ")
        self.value: Any = error.get("input")
        self.path: Loc = ()
        self.field: FieldInfo | None = None
        self.parent: type[BaseModel] | None = None
        self.annotation: Any = None
        self.is_table = False
        self.line: int | None = None

    @classmethod
    def of(
        cls,
        error: ErrorDetails,
        model: type[BaseModel] | None,
        data: Mapping[str, Any],
        show_values: bool,
    ) -> _Problem:
        problem = cls(error)
        if not show_values:
            problem.value = None
        problem._place(tuple(error["loc"]), model)
        problem.is_table = isinstance(_get(data, problem.path), dict)
        if problem.kind == "unknown_name":
            problem.path = tuple(problem.ctx.get("at") or problem.path)
        return problem

    def _place(self, loc: Loc, model: type[BaseModel] | None) -> None:
        kind: Any = model
        path: list[str | int] = []
        for part in loc:
            kind = _unwrap(kind)
            members = _models_of(kind)
            if len(members) > 1 and isinstance(part, str):
                kind = next((m for m in members if _tag(m) == part), None)  # the union's tag
                continue
            if part == "[key]":
                continue
            path.append(part)
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                self.parent, self.field = kind, kind.model_fields.get(str(part))
                kind = self.field.annotation if self.field is not None else None
            elif get_origin(kind) in (tuple, list) and isinstance(part, int):
                kind, self.parent, self.field = get_args(kind)[0], None, None
            elif get_origin(kind) is dict:
                kind, self.parent, self.field = get_args(kind)[1], None, None
            else:
                kind, self.parent, self.field = None, None, None
        self.path = tuple(path)
        self.annotation = _unwrap(kind)

    @property
    def name(self) -> str:
        return ".".join(str(p) for p in self.path if isinstance(p, str))

    @property
    def line_path(self) -> Loc:
        if self.kind == "union_tag_invalid":
            return (*self.path, str(self.ctx.get("discriminator", "")).strip("'"))
        if self.kind == "missing":
            return self.path[:-1]  # the table it should be in
        return self.path

    def words(self, name: str) -> str:
        """What is wrong, in words, and what to do where that is not plain."""
        it = f" (it is {_shown(self.value)})" if _showable(self.value) else ""
        if self.kind == "extra_forbidden":
            return self._unknown(name)
        if self.kind == "unknown_name":
            return self._unknown_name()
        if self.kind in ("union_tag_invalid", "union_tag_not_found"):
            return self._tag(name)
        if self.kind == "missing":
            if _models_of(self.annotation):
                return f"missing table [{name}]; add it (config/example.toml shows each)"
            table = name.rpartition(".")[0]
            where = f" to [{table}]" if table else ""
            return f"missing key {name}; add it{where}"
        if self.kind == "literal_error":
            choices = _literal_choices(self.annotation) or re.findall(
                r"'([^']*)'", str(self.ctx.get("expected", ""))
            )
            guess = _nearest(self.value, choices) if isinstance(self.value, str) else None
            hint = f"; did you mean {_shown(guess)}?" if guess else ""
            return f"{name} must be one of {', '.join(choices)}{it}{hint}"
        if self.kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
            return f"{name} must be {self._range()}{it}"
        if self.kind in _TYPE_WORDS:
            return f"{name} {_TYPE_WORDS[self.kind]}{it}"
        if self.kind == "string_pattern_mismatch":
            pattern = str(self.ctx.get("pattern", ""))
            return f"{name} {_PATTERN_WORDS.get(pattern, f'must match {pattern}')}{it}"
        message = self.message[:1].lower() + self.message[1:]
        return f"{name}: {message}" if name else message

    def _unknown(self, name: str) -> str:
        valid = list(self.parent.model_fields) if self.parent is not None else []
        *table, last = name.split(".")
        guess = _nearest(last, valid)
        if self.is_table:
            hint = f"; did you mean [{'.'.join((*table, guess))}]?" if guess else ""
            return f"unknown table [{name}]{hint or '; remove it or correct its name'}"
        hint = f"; did you mean {'.'.join((*table, guess))}?" if guess else ""
        return f"unknown key {name}{hint or '; remove it or correct its name'}"

    def _unknown_name(self) -> str:
        what, value = self.ctx.get("what", "name"), str(self.ctx.get("name", ""))
        choices = [str(c) for c in self.ctx.get("choices", ())]
        guess = _nearest(value, choices)
        hint = f"did you mean {guess!r}?" if guess else f"it is one of {', '.join(choices)}"
        return f"unknown {what} {value!r}; {hint}"

    def _tag(self, name: str) -> str:
        tag_key = str(self.ctx.get("discriminator", "kind")).strip("'")
        choices = re.findall(r"'([^']*)'", str(self.ctx.get("expected_tags", "")))
        listed = ", ".join(choices)
        if self.kind == "union_tag_not_found":
            return f"[{name}] needs {tag_key} = one of {listed}"
        tag = str(self.ctx.get("tag", ""))
        guess = _nearest(tag, choices)
        hint = f"; did you mean {guess!r}?" if guess else ""
        return f"{name} {tag_key} {tag!r} is not one of {listed}{hint}"

    def _range(self) -> str:
        low: tuple[str, Any] | None = None
        high: tuple[str, Any] | None = None
        for rule in self.field.metadata if self.field is not None else ():
            if isinstance(rule, annotated_types.Ge):
                low = ("at least", rule.ge)
            elif isinstance(rule, annotated_types.Gt):
                low = ("more than", rule.gt)
            elif isinstance(rule, annotated_types.Le):
                high = ("at most", rule.le)
            elif isinstance(rule, annotated_types.Lt):
                high = ("less than", rule.lt)
        for key, words in (("ge", "at least"), ("gt", "more than")):
            if low is None and key in self.ctx:
                low = (words, self.ctx[key])
        for key, words in (("le", "at most"), ("lt", "less than")):
            if high is None and key in self.ctx:
                high = (words, self.ctx[key])
        if low and high and low[0] == "at least" and high[0] == "at most":
            return f"between {low[1]} and {high[1]}"
        return " and ".join(f"{rule[0]} {rule[1]}" for rule in (low, high) if rule is not None)


def _unwrap(kind: Any) -> Any:
    """A type without Annotated and without None in a union."""
    while get_origin(kind) is Annotated:
        kind = get_args(kind)[0]
    if get_origin(kind) in (Union, types.UnionType):
        rest = [a for a in get_args(kind) if a is not type(None)]
        if len(rest) == 1:
            return _unwrap(rest[0])
    return kind


def _models_of(kind: Any) -> list[type[BaseModel]]:
    kinds = get_args(kind) if get_origin(kind) in (Union, types.UnionType) else (kind,)
    return [k for k in kinds if isinstance(k, type) and issubclass(k, BaseModel)]


def _tag(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("kind")
    choices = _literal_choices(field.annotation) if field is not None else []
    return choices[0] if choices else None


def _literal_choices(kind: Any) -> list[str]:
    return [str(a) for a in get_args(kind)] if get_origin(kind) is Literal else []


def _nearest(value: str | None, choices: Sequence[str]) -> str | None:
    if not value:
        return None
    # A name cut short ("chair" for "chair_review") first, then the closest spelling.
    found = [c for c in choices if c.lower().startswith(value.lower())][:1]
    found = found or difflib.get_close_matches(value, choices, n=1, cutoff=0.7)
    if not found:
        lowered = {c.lower(): c for c in choices}
        close = difflib.get_close_matches(value.lower(), list(lowered), 1, cutoff=0.7)
        found = [lowered[m] for m in close]
    return found[0] if found else None


def _get(data: Mapping[str, Any], path: Loc) -> Any:
    node: Any = data
    for part in path:
        inside = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if not (inside or (isinstance(node, Mapping) and part in node)):
            return None
        node = node[part]
    return node


def _showable(value: Any) -> bool:
    return isinstance(value, (bool, int, float)) or (isinstance(value, str) and len(value) <= 60)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)

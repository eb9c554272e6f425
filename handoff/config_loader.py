"""Load the YAML config and report every problem as `FILE:LINE path.to.field: what is wrong`.

PyYAML's node tree keeps the line of every key, so each pydantic error location (and each
`ReferenceErrors` path) is mapped to the deepest node that exists on its path (SPEC §6).
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from handoff.config import UPLOAD_LIMITS, Config, ReferenceErrors

MAX_BYTES = 1_000_000  # a real config is a few tens of kB; anything bigger is a wrong file
# Values the file stands for once every alias (`*name`) is written out: the example has ~3,500.
# An "alias bomb" (each level repeating the one before nine times) stands for billions in a
# few hundred bytes; checking or validating it would stall the bot.
MAX_VALUES = 200_000
_MERGE_TAG = "tag:yaml.org,2002:merge"
_PYDANTIC_STEP = re.compile(r"^[\w-]+\[.*\]$")  # `function-before[...]`, `list[...]`: not keys

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config file, where it is and what it is."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """A config file that cannot be used; `str()` is one line per problem."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


def load_config(path: str | Path) -> Config:
    """Read, parse and validate a config file."""
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise _error(name, None, f"file is too large ({size} bytes; limit {MAX_BYTES})")
        raw = path.read_bytes()
    except OSError as error:
        raise _error(name, None, f"cannot read the file: {error.strerror or error}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise _error(name, line, "not a UTF-8 text file (is it binary?)") from None
    return parse_config(text, name, path.resolve().parent)


def parse_config(text: str, filename: str, folder: Path | None = None) -> Config:
    """Parse and validate config text; `filename` is only used in messages. With the `folder` it
    was read from, the files it names are checked and their paths made absolute."""
    name = Path(filename).name
    if len(text) > MAX_BYTES:
        raise _error(name, None, f"file is too large ({len(text)} characters; limit {MAX_BYTES})")
    root, data = _parse_yaml(text, name)
    if (values := _expanded_size(root, {})) > MAX_VALUES:
        message = (
            f"the file stands for {values:,} values once its aliases (*name) are written out "
            f"(limit {MAX_VALUES:,}); write the repeated parts out, or repeat less"
        )
        raise _error(name, _line(root), message)
    if duplicates := list(_duplicate_keys(root, ())):
        raise ConfigError([Problem(name, line, _dotted(p), m) for p, line, m in duplicates])
    if not isinstance(data, dict):
        kind = {str: "plain text", list: "list"}.get(type(data), type(data).__name__)
        raise _error(name, _line(root), f"expected a mapping of sections at the top, got a {kind}")
    try:
        config = Config.model_validate(data)
    except ValidationError as error:
        problems = [
            Problem(name, _locate(root, path, key_line), _dotted(path), message)
            for path, message, key_line in _explain(error)
        ]
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0)) from None
    if folder is None:
        return config
    files, missing = _files(config, folder)
    if missing:
        problems = [Problem(name, _locate(root, p, False), _dotted(p), m) for p, m in missing]
        raise ConfigError(problems)
    replies = {
        key: reply.model_copy(update=files[key]) if key in files else reply
        for key, reply in config.replies.items()
    }
    return config.model_copy(update={"replies": replies})


def _files(
    config: Config, folder: Path
) -> tuple[dict[str, dict[str, str]], list[tuple[Path_, str]]]:
    """The replies' files as absolute paths (key → {photo|document: path}), and the problems of
    those that cannot be sent: missing, outside the config's folder, too large for Telegram."""
    found: dict[str, dict[str, str]] = {}
    problems: list[tuple[Path_, str]] = []
    for key, reply in config.replies.items():
        if reply.attachment is None:
            continue
        kind, given = reply.attachment
        path = (folder / given).resolve()
        where: Path_ = ("replies", key, kind)
        if not path.is_relative_to(folder):
            problems.append((where, f"{given!r} is outside the config's folder {folder}"))
        elif not path.is_file():
            problems.append((where, f"no such file: {given!r} (looked in {folder})"))
        elif (size := path.stat().st_size) > UPLOAD_LIMITS[kind]:
            limit = UPLOAD_LIMITS[kind] // (1024 * 1024)
            problems.append(
                (
                    where,
                    f"{given!r} has {size:,} bytes; Telegram takes a {kind} of at most {limit} MB",
                )
            )
        else:
            found[key] = {kind: str(path)}
    return found, problems


def _error(name: str, line: int | None, message: str) -> ConfigError:
    return ConfigError([Problem(name, line, "", message)])


# libyaml's parser when PyYAML has it (its wheels do): ten times the pure-Python one's speed.
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BASE_LOADER):  # type: ignore[misc, valid-type]
    """The safe loader, with a date that does not exist (2026-13-12) an error at its line:
    PyYAML raises a bare ValueError for it, with no line."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> object:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as error:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a date that exists ({error})", node.start_mark
            ) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)
_LOADER = _Loader


def _parse_yaml(text: str, name: str) -> tuple[yaml.Node, object]:
    """The node tree (for lines) and the plain data (for pydantic) of one YAML document."""
    loader = None
    try:
        loader = _LOADER(text)
        root = loader.get_single_node()
        if root is None:
            raise _error(name, 1, "the file is empty; expected schedules, teams, messages, …")
        return root, loader.construct_document(root)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        message = f"YAML syntax error: {error.problem or error.context}"
        if isinstance(error, yaml.constructor.ConstructorError) and error.context is None:
            message = str(error.problem)  # a value YAML cannot make (a date that does not exist)
        if error.problem and error.context and error.context_mark is not None:
            context = f"{error.context} at line {error.context_mark.line + 1}"
            if error.problem.startswith("but "):  # PyYAML's "expected X … but found Y"
                message = f"YAML syntax error: {context}, {error.problem}"
            else:
                message += f" ({context})"
        raise _error(name, line, message) from None
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        message = f"unexpected character {chr(error.character)!r} (is it a binary file?)"
        raise _error(name, line, message) from None
    finally:
        if loader is not None:
            loader.dispose()


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values the node stands for with every alias written out; each node is counted
    once (`sizes`), so a file of aliases nested deep costs no more than its length."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # a node that holds itself (`&a [*a]`) counts once
    total = 1
    if isinstance(node, yaml.MappingNode):
        total += sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(item, sizes) for item in node.value)
    sizes[id(node)] = total
    return total


def _duplicate_keys(node: yaml.Node, path: Path_):
    """(path, line, message) for every key that appears twice in one mapping."""
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key, value in node.value:
            if key.tag == _MERGE_TAG or not isinstance(key, yaml.ScalarNode):
                continue
            if key.value in first_line:
                message = f"duplicate key (first at line {first_line[key.value]})"
                yield (*path, key.value), _line(key), message
            else:
                first_line[key.value] = _line(key)
            yield from _duplicate_keys(value, (*path, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*path, index))


def _entries(node: yaml.MappingNode):
    """Key and value nodes of a mapping, merged (`<<: *anchor`) mappings last."""
    merged = []
    for key, value in node.value:
        if key.tag == _MERGE_TAG:
            merged.extend(value.value if isinstance(value, yaml.SequenceNode) else [value])
        else:
            yield key, value
    for other in merged:
        if isinstance(other, yaml.MappingNode):
            yield from _entries(other)


def _locate(root: yaml.Node, path: Path_, key_line: bool) -> int:
    """The line of the deepest node on `path` (of the last key itself when `key_line`)."""
    node, line = root, _line(root)
    for step in path:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in _entries(node) if k.value == str(step)), None)
            if found is None:
                break
            line = _line(found[0])
            node = found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            if not 0 <= step < len(node.value):
                break
            node = node.value[step]
            line = _line(node)
        else:
            break
    else:
        if not key_line and not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            line = _line(node)  # a scalar on its own line below its key
    return line


def _explain(error: ValidationError):
    """(path, human message, whether the line is the key's own) for each pydantic error."""
    for item in error.errors():
        cause = (item.get("ctx") or {}).get("error")
        if isinstance(cause, ReferenceErrors):
            for path, message in cause.problems:
                yield path, message, True
            continue
        path = tuple(s for s in item["loc"] if not _is_pydantic_step(s))
        kind = item["type"]
        if kind == "extra_forbidden":
            yield path, f"unknown key (allowed: {_allowed_keys(path[:-1])})", True
        elif item["loc"] and item["loc"][-1] == "[key]" and kind == "literal_error":
            expected = (item.get("ctx") or {}).get("expected", "")
            yield path, f"unknown key {item['input']!r} (allowed: {expected})", True
        elif item["loc"] and item["loc"][-1] == "[key]":
            yield path, f"invalid key {item['input']!r}: {_concise(item)}", True
        elif kind == "missing":
            yield path, "required field is missing", True
        else:
            yield path, _concise(item), False


def _is_pydantic_step(step: str | int) -> bool:
    """Location steps pydantic adds that are not keys in the file."""
    return isinstance(step, str) and (step == "[key]" or bool(_PYDANTIC_STEP.match(step)))


def _concise(item: dict) -> str:
    """Pydantic's message, shortened: `expected a valid integer, got 'lots'`."""
    message = item["msg"].removeprefix("Value error, ").replace("Input should be ", "expected ")
    value, context = item.get("input"), item.get("ctx") or {}
    if item["type"] == "too_short":
        least = context.get("min_length", 1)
        return f"needs at least {least} {'entry' if least == 1 else 'entries'}"
    if item["type"].endswith(("_type", "_parsing")) and isinstance(value, str | int | float):
        message = f"{message.split(', ')[0]}, got {value!r}"
    return message


def _allowed_keys(path: Path_) -> str:
    """The field names of the model at `path`, e.g. `bot, database, …` for the top level."""
    annotation: object = Config
    for step in path:
        annotation = _child(annotation, step)
    model = _model_in(annotation)
    return ", ".join(model.model_fields) if model else "?"


def _child(annotation: object, step: str | int) -> object:
    if (model := _model_in(annotation)) is not None:
        field = model.model_fields.get(str(step))
        return field.annotation if field else None
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _child(args[0], step)
    if origin is list and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _model_in(annotation: object) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (`X`, `X | None`, `Annotated[X, …]`), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            if (model := _model_in(arg)) is not None:
                return model
    return None


def _dotted(path: Path_) -> str:
    """`agents[2].teams[0]` from ("agents", 2, "teams", 0)."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text

"""Load a policy file: YAML with line numbers, schema validation, cross-reference checks.

A policy either loads whole or not at all: every problem found is reported, with the file, the
line and the field, and nothing is returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from schoolgate.engine.policy.changes import (
    ChangeFile,
    apply_changes,
    changes_path,
)
from schoolgate.engine.policy.changes import (
    cross_reference_problems as change_problems,
)
from schoolgate.engine.policy.checks import cross_reference_problems
from schoolgate.engine.policy.schema import ApprovedChange, Policy

Location = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class PolicyError(Exception):
    """The policy file is not valid; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


MAX_VALUES = 200_000
"""The most values a policy may expand to. The largest seed policy has a few thousand; a
300-byte "billion laughs" alias bomb expands to billions, so the budget stops it at once."""


class _LineTracker:
    """Builds plain Python data from a YAML node tree, remembering each value's line.

    Aliases are expanded (policies share `source:` blocks with anchors), but within a budget of
    `MAX_VALUES`, and an alias that contains itself is refused instead of recursing forever.
    """

    def __init__(self) -> None:
        self.lines: dict[Location, int] = {}
        self._built = 0
        self._open: set[int] = set()

    def build(self, node: yaml.Node, loc: Location = ()) -> Any:
        self._built += 1
        if self._built > MAX_VALUES:
            raise _Unbuildable(
                node, f"expands to more than {MAX_VALUES:,} values (an alias bomb?)", loc
            )
        if id(node) in self._open:
            raise _Unbuildable(node, "an alias refers to a value that contains it", loc)
        self.lines[loc] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            self._open.add(id(node))
            try:
                return self._build_collection(node, loc)
            finally:
                self._open.discard(id(node))
        return _CONSTRUCTOR.construct_object(node, deep=True)

    def _build_collection(self, node: yaml.Node, loc: Location) -> Any:
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = yaml.SafeLoader.construct_scalar(_CONSTRUCTOR, key_node)  # type: ignore[arg-type]
                if key in result:
                    raise _DuplicateKey(key, key_node.start_mark.line + 1, loc)
                self.lines[(*loc, key)] = key_node.start_mark.line + 1
                result[key] = self.build(value_node, (*loc, key))
            return result
        return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]

    def line_for(self, loc: Location) -> int:
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int, loc: Location):
        self.key, self.line, self.loc = key, line, loc


class _Unbuildable(Exception):
    def __init__(self, node: yaml.Node, message: str, loc: Location):
        self.line, self.message, self.loc = node.start_mark.line + 1, message, loc


_CONSTRUCTOR = yaml.SafeLoader("")


def field_path(loc: Location) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_policy(path: str | Path) -> Policy:
    """The effective policy: the file, plus the approved changes file beside it if there is one
    (engine/policy/changes.py). A problem in either is reported with that file's name."""
    path = Path(path)
    policy = parse_policy(_read(path), str(path))
    extra = changes_path(path)
    if not extra.exists():
        return policy
    changes = parse_change_file(_read(extra), policy, str(extra))
    return apply_changes(policy, changes.changes, changes.exclusions)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([Problem(str(path), 1, "", f"cannot read the file: {exc}")]) from exc


def parse_policy(text: str, filename: str = "<policy>") -> Policy:
    data, tracker = _yaml_mapping(text, filename, "a policy file")
    policy = _validated(Policy, data, tracker, filename)
    _raise_problems(filename, tracker, cross_reference_problems(policy))
    return policy


def parse_changes(text: str, policy: Policy, filename: str = "<changes>") -> list[ApprovedChange]:
    """An approved-changes file's filter changes, checked against the policy it changes."""
    return parse_change_file(text, policy, filename).changes


def parse_change_file(text: str, policy: Policy, filename: str = "<changes>") -> ChangeFile:
    """An approved-changes file (filter changes and alert exclusions), checked against the
    policy it changes."""
    data, tracker = _yaml_mapping(text, filename, "a changes file")
    changes = _validated(ChangeFile, data, tracker, filename)
    _raise_problems(filename, tracker, change_problems(policy, changes))
    return changes


def _yaml_mapping(text: str, filename: str, what: str) -> tuple[dict[str, Any], _LineTracker]:
    tracker = _LineTracker()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = tracker.build(root) if root is not None else None
    except _DuplicateKey as dup:
        raise PolicyError(
            [Problem(filename, dup.line, field_path((*dup.loc, dup.key)), "key appears twice")]
        ) from None
    except _Unbuildable as bad:
        raise PolicyError([Problem(filename, bad.line, field_path(bad.loc), bad.message)]) from None
    except RecursionError:
        raise PolicyError([Problem(filename, 1, "", "not valid YAML: nested too deeply")]) from None
    except yaml.MarkedYAMLError as exc:
        line = (exc.problem_mark.line + 1) if exc.problem_mark else 1
        raise PolicyError([Problem(filename, line, "", f"not valid YAML: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise PolicyError([Problem(filename, 1, "", f"not valid YAML: {exc}")]) from None
    if not isinstance(data, dict):
        raise PolicyError([Problem(filename, 1, "", f"{what} must be a YAML mapping")])
    return data, tracker


def _validated(model: type[M], data: dict[str, Any], tracker: _LineTracker, filename: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(
            [
                Problem(
                    filename,
                    tracker.line_for(tuple(err["loc"])),
                    field_path(err["loc"]),
                    err["msg"],
                )
                for err in exc.errors()
            ]
        ) from None


def _raise_problems(
    filename: str, tracker: _LineTracker, found: list[tuple[Location, str]]
) -> None:
    problems = [
        Problem(filename, tracker.line_for(loc), field_path(loc), message) for loc, message in found
    ]
    if problems:
        raise PolicyError(problems)

"""Load and validate bank files, collecting every problem with its file, line and field."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from bank.schema import Question
from bank.yamldoc import YamlDocument, YamlFileError, describe_location, load_yaml

logger = logging.getLogger(__name__)

BUNDLED_DIR = Path(__file__).with_name("questions")
MAX_FILE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class BankIssue:
    path: Path
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class BankError(Exception):
    """The bank cannot be used; `issues` lists every problem found."""

    def __init__(self, issues: Sequence[BankIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


@dataclass(frozen=True)
class LoadedQuestion:
    question: Question
    path: Path
    line: int | None


@dataclass
class Bank:
    questions: dict[str, LoadedQuestion] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.questions)

    def __iter__(self):
        return (loaded.question for loaded in self.questions.values())

    def get(self, question_id: str) -> Question | None:
        loaded = self.questions.get(question_id)
        return loaded.question if loaded else None


def bundled_files() -> list[Path]:
    return sorted(BUNDLED_DIR.glob("*.yaml"))


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given; directories become the .yaml / .yml files inside them."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
        else:
            files.append(path)
    return files


def read_file(path: Path) -> tuple[list[LoadedQuestion], list[BankIssue]]:
    """Every valid question in one file, and every problem in it."""
    try:
        document = load_yaml(path, max_bytes=MAX_FILE_BYTES)
    except YamlFileError as error:
        return [], [BankIssue(path, error.line, "", error.message)]
    if document.data is None:
        return [], [BankIssue(path, None, "", "file is empty; expected a list of questions")]
    if not isinstance(document.data, list):
        return [], [BankIssue(path, document.line_of(()), "", "expected a list of questions")]
    questions: list[LoadedQuestion] = []
    issues: list[BankIssue] = []
    for index, entry in enumerate(document.data):
        line = document.line_of((index,))
        if not isinstance(entry, dict):
            issues.append(BankIssue(path, line, f"[{index}]", "expected a mapping (id: ..., ...)"))
            continue
        try:
            question = Question.model_validate(entry)
        except ValidationError as error:
            issues.extend(_issues_from(error, document, index, entry))
            continue
        questions.append(LoadedQuestion(question, path, line))
    return questions, issues


def _issues_from(
    error: ValidationError, document: YamlDocument, index: int, entry: dict
) -> list[BankIssue]:
    label = f"question {entry.get('id')!r}" if isinstance(entry.get("id"), str) else f"[{index}]"
    issues = []
    for detail in error.errors():
        location = tuple(detail["loc"])
        field_name = describe_location(location)
        message = _friendly(detail)
        line = document.line_of((index, *location))
        issues.append(BankIssue(document.path, line, f"{label} {field_name}", message))
    return issues


def _friendly(detail: dict) -> str:
    kind = detail["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field (see docs/bank-format.md)"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "literal_error":
        return f"{detail['msg'].lower()}, got {detail.get('input')!r}"
    return str(detail["msg"])


def load_files(files: Sequence[Path]) -> Bank:
    """Load files that must not share ids; raise BankError listing every problem."""
    bank = Bank()
    issues: list[BankIssue] = []
    for path in files:
        loaded, file_issues = read_file(path)
        issues.extend(file_issues)
        for item in loaded:
            existing = bank.questions.get(item.question.id)
            if existing:
                issues.append(
                    BankIssue(
                        item.path,
                        item.line,
                        f"question {item.question.id!r} id",
                        f"duplicate id; first defined at {existing.path}:{existing.line}",
                    )
                )
                continue
            bank.questions[item.question.id] = item
    if issues:
        raise BankError(issues)
    return bank


def load_bank(team_paths: Sequence[Path] = (), *, include_bundled: bool = True) -> Bank:
    """The bundled bank plus a team's files; a team question replaces a bundled one by id."""
    bank = load_files(bundled_files()) if include_bundled else Bank()
    if not team_paths:
        return bank
    missing = [path for path in team_paths if not path.exists()]
    if missing:
        raise BankError(
            [BankIssue(path, None, "bank.paths", "no such file or directory") for path in missing]
        )
    team = load_files(expand_paths(team_paths))
    for question_id, item in team.questions.items():
        if question_id in bank.questions:
            message = (
                f"{item.path}:{item.line}: question {question_id!r} replaces the bundled "
                f"question of the same id"
            )
            logger.warning(message)
            bank.warnings.append(message)
        bank.questions[question_id] = item
    return bank

"""What every command shares: the project, the service, `--json`, and error handling."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..models.results import OperationResult
from ..service import PackerService
from ..workspace.project import Project, ProjectNotFound, find_project
from .render import err, exit_code, print_json, print_result

F = TypeVar("F", bound=Callable[..., Any])


class Ctx:
    """Per-invocation state the group builds from global options."""

    def __init__(self, project_dir: Path | None) -> None:
        self.project_dir = project_dir
        self._service: PackerService | None = None
        self.sink: Any = None

    def project(self) -> Project:
        if self.project_dir is not None:
            return Project(Path(os.path.abspath(self.project_dir)))
        return find_project()

    def service(self) -> PackerService:
        if self._service is None:
            try:
                project = self.project()
            except ProjectNotFound as exc:
                err.print(f"[red]error:[/] {exc}")
                raise SystemExit(2) from None
            self._service = PackerService(project, sink=self.sink)
        return self._service


pass_ctx = click.make_pass_decorator(Ctx)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True,
                        help="Print the result model as JSON.")(f)


def emit(result: OperationResult, as_json: bool, render: Callable[[Any], None] | None = None
         ) -> None:
    """Print a result (JSON or human) and exit with its code."""
    if as_json:
        print_json(result)
    elif render is not None:
        render(result)
    else:
        print_result(result)
    raise SystemExit(exit_code(result))


def result_command(f: F) -> F:
    """Commands return a result; this prints it and sets the exit code."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        as_json = kwargs.get("as_json", False)
        result = f(*args, **kwargs)
        emit(result, as_json)

    return wrapper  # type: ignore[return-value]

"""Files of one job: no source file over 500 lines, no function over 60 lines."""

import ast
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT

SOURCE_ROOTS = ("app", "endpoints", "sessions", "checkin", "bench", "tests")
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 60


def _sources() -> list[Path]:
    return sorted(p for root in SOURCE_ROOTS for p in (PROJECT_ROOT / root).rglob("*.py"))


def _long_functions(path: Path, root: Path = PROJECT_ROOT) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = (node.end_lineno or node.lineno) - start + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} "
                             f"({length} lines)")
    return found


def test_no_source_file_over_500_lines() -> None:
    too_long = [
        f"{p.relative_to(PROJECT_ROOT)} ({n} lines)"
        for p in _sources()
        if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES
    ]
    assert too_long == []


def test_no_function_over_60_lines() -> None:
    assert [f for p in _sources() for f in _long_functions(p)] == []


@pytest.mark.parametrize("size", [MAX_FUNCTION_LINES, MAX_FUNCTION_LINES + 1])
def test_long_function_detected(tmp_path: Path, size: int) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(size - 2))
    source = tmp_path / "sample.py"
    source.write_text(f"def f() -> None:\n    \"\"\"Doc.\"\"\"\n{body}\n")
    found = _long_functions(source, tmp_path)
    assert bool(found) is (size > MAX_FUNCTION_LINES)

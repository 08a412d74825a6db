"""The dependency rule is enforced by import-linter: it passes today and fails on a bad import."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT

PACKAGES = ("app", "endpoints", "sessions", "checkin")
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def _copy_tree(dest: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(PROJECT_ROOT / name, dest / name,
                        ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_contracts_kept_on_the_project() -> None:
    result = _lint(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        ("app/db.py", "from endpoints import models", "The ground (app) imports no domain"),
        ("endpoints/service.py", "from checkin import service as _c",
         "Domains depend one way"),
        ("sessions/service.py", "from checkin import models as _c", "Domains depend one way"),
        ("checkin/service.py", "from endpoints import routes as _r",
         "Another domain reaches endpoints only through"),
        ("checkin/models.py", "from sessions import pages as _p",
         "checkin reaches sessions only through"),
        ("sessions/service.py", "import fastapi as _f", "never touch HTTP"),
        ("app/security.py", "from app import main as _m", "Only the roof imports the roof"),
    ],
)
def test_contract_broken_by_a_forbidden_import(
    tmp_path: Path, module: str, bad_import: str, contract: str
) -> None:
    tree = _copy_tree(tmp_path)
    target = tree / module
    target.write_text(target.read_text() + f"\n{bad_import}  # noqa\n")
    result = _lint(tree)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts")[-1]
    assert contract in broken.replace("\n", " ")

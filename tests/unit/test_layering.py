"""Infrastructure never knows the domain: nothing under lifeceo.platform imports
lifeceo.community (the application wires them together in lifeceo.app)."""

import ast
from pathlib import Path

PLATFORM = Path(__file__).resolve().parents[2] / "src" / "lifeceo" / "platform"


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_platform_never_imports_the_domain():
    offenders = sorted(
        f"{path.relative_to(PLATFORM)}: {module}"
        for path in PLATFORM.rglob("*.py") for module in imported_modules(path)
        if module == "lifeceo.community" or module.startswith("lifeceo.community."))
    assert offenders == []

"""The shape of the code: no import cycle in core/, short functions and pages, one reader of the environment,
a complete exception tree, and Streamlit only in the UI layers."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "core"
MAX_FUNCTION_LINES = 80
MAX_PAGE_LINES = 120


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _core_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(CORE.rglob("*.py"))}


def _trees() -> Iterator[tuple[str, ast.Module]]:
    for name, path in _core_modules().items():
        yield name, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at module level or inside functions, except `if TYPE_CHECKING:` blocks."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph() -> dict[str, set[str]]:
    """core module -> the core modules it imports (`from core.lint import x` names core.lint itself)."""
    modules = _core_modules()
    graph: dict[str, set[str]] = {}
    for name, tree in _trees():
        deps: set[str] = set()
        for node in _imports(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level or not node.module:
                    continue
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    deps.add(sub if sub in modules else node.module)
            else:
                deps.update(alias.name for alias in node.names)
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_cycle_finder_sees_a_cycle() -> None:
    """The cycle finder itself: a -> b -> c -> a is one cycle, d -> a is none."""
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_inside_core() -> None:
    """No two core modules import each other, directly or around a loop (lazy imports count too)."""
    assert import_cycles(import_graph()) == []


def test_lint_package_has_no_cycle() -> None:
    """core.lint's modules import each other one way only (the package face imports them, never back)."""
    lint = {m: {d for d in deps if d.startswith("core.lint")}
            for m, deps in import_graph().items() if m.startswith("core.lint")}
    assert import_cycles(lint) == []
    assert all("core.lint" not in deps for m, deps in lint.items() if m != "core.lint")


def _long_functions() -> list[str]:
    out = []
    for name, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    out.append(f"{name}.{node.name} ({length} lines)")
    return sorted(out)


def test_no_function_in_core_over_80_lines() -> None:
    """Every function in core/ fits in 80 lines: long ones split along the seams they already have."""
    assert _long_functions() == []


def test_no_page_over_120_lines() -> None:
    """Pages read top to bottom in at most 120 lines; their logic lives in core/ and ui/."""
    pages = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
    long = {p.name: n for p in pages if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_PAGE_LINES}
    assert long == {}


def test_core_never_imports_streamlit() -> None:
    """core/ is pure Python: Streamlit lives only in app.py, pages/ and ui/."""
    offenders = sorted(name for name, tree in _trees() for node in _imports(tree)
                       if any(n.split(".")[0] == "streamlit" for n in (
                           [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names])))
    assert offenders == []


_ENV_READ = re.compile(r"\bos\.environ\b|\bgetenv\s*\(|\bfrom\s+os\s+import\s+[^\n]*\b(?:environ|getenv)\b")


def test_only_config_reads_the_environment() -> None:
    """Nothing but core/config.py reads os.environ or os.getenv (scripts/, tests/ and bench/ are tools that start
    the console in child processes with an environment of their own, not the app reading its settings)."""
    tops = [p for p in sorted(ROOT.iterdir())
            if not p.name.startswith(".") and p.name not in ("scripts", "tests", "bench")]
    files = [f for top in tops for f in ([top] if top.suffix == ".py" else sorted(top.rglob("*.py")) if top.is_dir()
                                         else []) if f != CORE / "config.py"]
    assert CORE / "cli.py" in files and ROOT / "app.py" in files
    readers = [str(p.relative_to(ROOT)) for p in files if _ENV_READ.search(p.read_text(encoding="utf-8"))]
    assert readers == []


def test_ui_never_raises_bare_value_error() -> None:
    """ui/ and pages/ raise console errors (with a fix), never a bare ValueError."""
    files = [*sorted((ROOT / "ui").glob("*.py")), *sorted((ROOT / "pages").glob("*.py")), ROOT / "app.py"]
    offenders = [p.name for p in files if re.search(r"\braise\s+ValueError\b", p.read_text(encoding="utf-8"))]
    assert offenders == []


# --- the exception tree -----------------------------------------------------------------------------
_TREE_LINE = re.compile(r"^(?P<indent>[\s│]*)(?:[├└]── )?(?P<name>[A-Z]\w+)\s")


def drawn_tree() -> dict[str, str | None]:
    """class -> drawn parent, read from the drawing at the top of core/errors.py."""
    doc = ast.get_docstring(ast.parse((CORE / "errors.py").read_text(encoding="utf-8"))) or ""
    drawing = [line for line in doc.splitlines()[1:] if line.startswith("    ") and line.strip()]
    parents: dict[str, str | None] = {}
    at_depth: dict[int, str] = {}
    for line in drawing:
        m = _TREE_LINE.match(line)
        if not m:
            continue
        depth = len(m.group("indent")) // 4  # "    " at the root, then four columns per level
        if "──" not in line and depth != 1:
            continue  # a continuation line of a description
        parents[m.group("name")] = at_depth.get(depth - 1) if "──" in line else None
        at_depth[depth if "──" in line else 0] = m.group("name")
    return parents


def console_error_classes() -> dict[str, str]:
    """Every class in core/ that derives from ConsoleError -> its direct base (by name)."""
    bases: dict[str, str] = {}
    for _, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.bases:
                base = node.bases[0]
                bases[node.name] = base.id if isinstance(base, ast.Name) else \
                    base.attr if isinstance(base, ast.Attribute) else ""
    family: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for name, base in bases.items():
            if name not in family and (base == "ConsoleError" or base in family):
                family[name] = base
                changed = True
    return family


def _raised_or_caught() -> set[str]:
    names: set[str] = set()
    for _, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and node.exc is not None:
                exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(exc, ast.Name):
                    names.add(exc.id)
            elif isinstance(node, ast.ExceptHandler) and node.type is not None:
                types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
                names.update(t.id for t in types if isinstance(t, ast.Name))
    return names


def test_reading_the_drawing() -> None:
    """The drawing reader finds the root and nested classes with their parents."""
    tree = drawn_tree()
    assert tree["ConsoleError"] is None and tree["InvalidInput"] == "ConsoleError"
    assert tree["InvalidPayload"] == "InvalidInput"


def test_exception_tree_drawing_is_complete_and_true() -> None:
    """Every ConsoleError class in core/ is drawn under its real parent, and every drawn class exists."""
    family = console_error_classes()
    drawn = drawn_tree()
    assert set(drawn) - {"ConsoleError"} == set(family), "drawn classes and classes in core/ differ"
    assert {name: drawn[name] for name in family} == family, "a class is drawn under the wrong parent"


def test_every_console_error_is_raised_or_caught() -> None:
    """No exception class is dead: each is raised or caught somewhere in core/."""
    unused = {"ConsoleError", *console_error_classes()} - _raised_or_caught()
    assert unused == set()


_ISSUE_NUMBER = re.compile(r"\bissue[ _#-]*\d", re.IGNORECASE)


def test_names_speak_of_the_product_not_of_issue_numbers() -> None:
    """No issue numbers in code, comments or file names: a name says what the product does."""
    tops = [ROOT / "app.py", ROOT / "core", ROOT / "ui", ROOT / "pages", ROOT / "tests", ROOT / "bench",
            ROOT / "scripts"]
    files = [f for top in tops for f in ([top] if top.is_file() else sorted(top.rglob("*.py")))]
    offenders = [str(f.relative_to(ROOT)) for f in files
                 if _ISSUE_NUMBER.search(f.name) or _ISSUE_NUMBER.search(f.read_text(encoding="utf-8"))]
    assert offenders == []


def test_every_import_of_ours_resolves() -> None:
    """Every `core.…` / `ui.…` module imported anywhere (lazy imports included) exists: a moved module leaves
    no caller behind (mypy skips missing imports, so this is the check)."""
    files = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").rglob("*.py")),
             *sorted(CORE.rglob("*.py")), *sorted((ROOT / "tests").rglob("*.py")),
             *sorted((ROOT / "bench").glob("*.py"))]
    missing = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            for name in names:
                if name.split(".")[0] in ("core", "ui"):
                    base = ROOT.joinpath(*name.split("."))
                    if not (base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()):
                        missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert missing == []

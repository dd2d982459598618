"""core.sources as a package: no import cycle through it, no Streamlit, and the linter starts without pandas."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _core_imports() -> dict[str, set[str]]:
    """Module -> the core modules it imports anywhere (top level or inside functions)."""
    paths = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
             for p in (ROOT / "core").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("core"):
                deps.add(node.module)
                deps.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("core"))
        graph[name] = {d for d in deps if d in paths and d != name}
    return graph


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    todo, seen = [start], set()
    while todo:
        node = todo.pop()
        for dep in graph[node]:
            if dep == goal:
                return True
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return False


def test_no_import_cycle_through_sources() -> None:
    """No module of core.sources imports anything that imports it back (the old har<->pixel cycle)."""
    graph = _core_imports()
    cyclic = [m for m in graph if m.startswith("core.sources") and _reaches(graph, m, m)]
    assert cyclic == []


def test_sources_never_import_streamlit() -> None:
    """core.sources is plain Python: pages render, sources read."""
    for path in (ROOT / "core" / "sources").glob("*.py"):
        assert "streamlit" not in path.read_text(encoding="utf-8"), path.name


def test_linter_starts_without_pandas() -> None:
    """The value readers are shared with the linter, which still imports neither pandas nor pyarrow."""
    code = "import sys, core.lint, core.payload; print('pandas' in sys.modules, 'pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_linting_ips_loads_neither_pandas_nor_pyarrow() -> None:
    """Judging an IP (the EMQ proxy's rule, core.reasons) needs no data frame: a lint of events with public,
    private, loopback, IPv6 and broken addresses leaves pandas and pyarrow unloaded, and still names each."""
    code = (
        "import sys, json\n"
        "from core.lint import lint\n"
        "ips = ['203.0.114.7', '10.1.2.3', '127.0.0.1', '2a00:1450:4001:81b::200e', 'fd00::1', '1.2.3.4:80', 'x']\n"
        "body = {'event_source': 'web', 'event_source_id': 'C1', 'data': [{'event': 'Purchase', 'event_time': "
        "1767225600, 'event_id': f'e{i}', 'user': {'ip': ip}} for i, ip in enumerate(ips)]}\n"
        "codes = sorted({f.code for f in lint(body, now=1767225600) if f.code.startswith('user.ip')})\n"
        "print(json.dumps([codes, 'pandas' in sys.modules, 'pyarrow' in sys.modules]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    codes, pandas_loaded, pyarrow_loaded = json.loads(out.stdout)
    assert codes == ["user.ip.invalid", "user.ip.private"]
    assert (pandas_loaded, pyarrow_loaded) == (False, False)


def test_emulator_keeps_a_pixel_hit_without_loading_pandas() -> None:
    """The emulator reads a Pixel body with the console's one Pixel reader, which needs no data frame: its
    first hit is answered at once (loading pandas took about 0.5 s inside the request, more on a busy machine)."""
    code = (
        "import sys, json, httpx\n"
        "from core.emulator import start_emulator\n"
        "emu = start_emulator()\n"
        "hit = {'event': 'Purchase', 'event_id': 'o1', 'timestamp': '2026-05-14T12:00:00.000Z', 'context': "
        "{'pixel': {'code': 'CPIX1'}, 'page': {'url': 'https://shop.example/thanks'}, 'user': {}}}\n"
        "kept = httpx.post(emu.url + '/api/v2/pixel', json=hit, timeout=10).json()['data']['kept']\n"
        "pixels = [p['pixel_code'] for p in emu.pixel_list()]\n"
        "emu.stop()\n"
        "print(json.dumps([kept, pixels, 'pandas' in sys.modules, 'pyarrow' in sys.modules]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    kept, pixels, pandas_loaded, pyarrow_loaded = json.loads(out.stdout)
    assert kept == 1 and pixels == ["CPIX1"]
    assert (pandas_loaded, pyarrow_loaded) == (False, False)

"""Check the product code's layout: no import cycles, one-way app dependencies, short modules.

Run from the repository root::

    python -m tools.layout_check [ROOT]

ROOT defaults to the repository this file lives in. The command prints nothing and exits 0 when
the layout is fine; otherwise it prints one line per problem and exits 1.

Product code is every ``.py`` file under the packages ``thankview``, ``contacts``, ``engagement``
and ``integrations``, except their ``migrations/`` folders (generated, frozen history). ``sfsim``,
``tests``, ``benchmarks`` and ``tools`` are not product code and are not read.

The checks, in the order they are printed:

1. ``cycle:`` import cycles between product modules. Every import statement in a file counts,
   wherever it stands: module level, inside a function, under ``if TYPE_CHECKING:``. An import
   moved into a function still ties two modules together; that is how cycles hide. Resolution:

   - a relative import is resolved against the importing module's package;
   - ``import a.b.c`` imports the module ``a.b.c`` (or its longest prefix that is a module);
   - ``from p import n`` imports ``p.n`` when that is a module or package, else ``p``;
   - a package stands for its ``__init__.py``. Importing ``p.m`` is an edge to ``p.m`` only, not
     also to ``p``: otherwise every package whose ``__init__`` re-exports its modules would be a
     cycle. A module importing itself is ignored.

   Each strongly connected component of the import graph is reported once, as one of its shortest
   cycles starting at its alphabetically first module, ``cycle: a -> b -> a``. When the component
   holds more modules than that cycle, the others are named after it
   (``(also in this cycle group: c, d)``).

2. ``upward import:`` the apps are layered ``thankview < contacts < engagement < integrations``. A
   module may import its own app and lower ones, never a higher one, anywhere in the file (same
   resolution as above). Exception, decided here: the project configuration modules
   ``thankview/settings.py``, ``thankview/test_settings.py``, ``thankview/urls.py`` and
   ``thankview/celery.py`` sit above every app. They are where the apps are put together
   (``INSTALLED_APPS``, the root URLconf that includes each app's urls, the Celery app), so they
   may name or import any app. They still count for cycles and size. Names inside strings
   (``include("integrations.urls")``, dotted paths in settings) and ``importlib`` calls are not
   import statements and are not checked.

3. ``upward template:`` a template belongs to the app whose folder holds it:
   ``templates/<app>/...``, ``templates/admin/<app>/...`` (that app's admin pages) or
   ``<app>/templates/...``. It may not ``{% include %}`` or ``{% extends %}`` a template of a
   higher app (names given as string literals; a name held in a variable cannot be checked), nor
   ``{% load %}`` a tag library of a higher app. A library belongs to the app whose
   ``templatetags/<library>.py`` defines it; Django's and third-party libraries (``static``,
   ``humanize``) are ignored. Exception, decided here: templates outside every app folder
   (``templates/base.html``, the site frame with every app's navigation and the integration's
   banners; overrides of third-party apps such as ``templates/account/``) are the project's
   layout. Like the configuration modules above they put the apps together, so they are not
   checked, and any app may extend or include them.

4. ``too long:`` no product module over 500 lines.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

# Lowest first: an app may depend on the apps before it, never on those after it.
APPS = ("thankview", "contacts", "engagement", "integrations")
RANK = {app: i for i, app in enumerate(APPS)}
PROJECT_CONFIG = {
    "thankview/settings.py",
    "thankview/test_settings.py",
    "thankview/urls.py",
    "thankview/celery.py",
}
EXCLUDED_DIRS = {"migrations", "__pycache__"}
MAX_LINES = 500
DEFAULT_ROOT = Path(__file__).resolve().parent.parent

INCLUDE_RE = re.compile(r"""\{%-?\s*(include|extends)\s+(["'])([^"']+)\2""")
LOAD_RE = re.compile(r"""\{%-?\s*load\s+(.+?)\s*-?%\}""")


@dataclass
class Module:
    name: str  # dotted, a package named after itself (its __init__.py)
    path: Path  # relative to the root
    is_package: bool
    source: str


@dataclass
class Import:
    target: str  # resolved dotted name
    line: int


@dataclass
class Tree:
    root: Path
    modules: dict[str, Module] = field(default_factory=dict)


# --- reading the tree ----------------------------------------------------------------------


def product_modules(root: Path) -> dict[str, Module]:
    modules = {}
    for app in APPS:
        app_dir = root / app
        if not app_dir.is_dir():
            continue
        for path in sorted(app_dir.rglob("*.py")):
            rel = path.relative_to(root)
            if EXCLUDED_DIRS.intersection(rel.parts[:-1]):
                continue
            parts = list(rel.with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            name = ".".join(parts)
            modules[name] = Module(name, rel, is_package, path.read_text(encoding="utf-8"))
    return modules


def _longest_known(name: str, known) -> str:
    """The module a dotted name lands in: itself, or its longest prefix that is a module."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return name


def _relative_base(module: Module, level: int, dotted: str | None) -> str:
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    if level > 1:
        package = package[: len(package) - (level - 1)]
    base = ".".join(package)
    if dotted:
        base = f"{base}.{dotted}" if base else dotted
    return base


def imports_of(module: Module, known) -> list[Import]:
    """Every import statement of the module, anywhere in the file, resolved to dotted names."""
    found = []
    for node in ast.walk(ast.parse(module.source, filename=str(module.path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(_longest_known(alias.name, known), node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _relative_base(module, node.level, node.module)
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                target = sub if alias.name != "*" and sub in known else _longest_known(base, known)
                found.append(Import(target, node.lineno))
    return found


# --- checks ----------------------------------------------------------------------------------


def import_graph(modules: dict[str, Module]) -> tuple[dict[str, set[str]], list[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    problems = []
    for name, module in modules.items():
        try:
            found = imports_of(module, modules)
        except SyntaxError as e:
            problems.append(f"syntax error: {module.path.as_posix()}:{e.lineno}: {e.msg}")
            continue
        graph[name].update(i.target for i in found if i.target in modules and i.target != name)
    return graph, problems


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm; components of one module (no cycle) are left out."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def shortest_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest cycle through the component's first module, by breadth-first search."""
    members = set(component)
    start = component[0]
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start}")  # cannot happen in a component


def check_cycles(graph: dict[str, set[str]]) -> list[str]:
    problems = []
    for component in strongly_connected(graph):
        cycle = shortest_cycle(graph, component)
        line = "cycle: " + " -> ".join(cycle)
        others = sorted(set(component) - set(cycle))
        if others:
            line += f" (also in this cycle group: {', '.join(others)})"
        problems.append(line)
    return problems


def check_upward_imports(modules: dict[str, Module]) -> list[str]:
    problems = []
    for name, module in sorted(modules.items()):
        if module.path.as_posix() in PROJECT_CONFIG:
            continue
        app = name.split(".")[0]
        try:
            found = imports_of(module, modules)
        except SyntaxError:
            continue  # reported by the graph
        seen = set()
        for imp in found:
            target_app = imp.target.split(".")[0]
            if RANK.get(target_app, -1) > RANK[app] and imp.target not in seen:
                seen.add(imp.target)
                problems.append(
                    f"upward import: {module.path.as_posix()}:{imp.line}: "
                    f"{name} imports {imp.target}"
                )
    return problems


def template_app(relative: Path) -> str | None:
    """The app a template name (or a path under a templates folder) belongs to; None for the
    project's own layout (templates outside every app folder)."""
    parts = relative.parts
    if len(parts) > 1 and parts[0] in RANK:
        return parts[0]
    if len(parts) > 2 and parts[0] == "admin" and parts[1] in RANK:
        return parts[1]
    return None


def template_files(root: Path) -> list[tuple[Path, str]]:
    """(template file, the app it belongs to) for every app template of the project."""
    found = []
    project_dir = root / "templates"
    if project_dir.is_dir():
        for path in sorted(p for p in project_dir.rglob("*") if p.is_file()):
            app = template_app(path.relative_to(project_dir))
            if app is not None:
                found.append((path, app))
    for app in APPS:
        app_dir = root / app / "templates"
        if app_dir.is_dir():
            found.extend((path, app) for path in sorted(app_dir.rglob("*")) if path.is_file())
    return found


def tag_libraries(root: Path) -> dict[str, str]:
    """Template tag library name -> the product app that defines it."""
    libraries = {}
    for app in APPS:
        for path in sorted((root / app).glob("**/templatetags/*.py")):
            if path.stem != "__init__" and "migrations" not in path.parts:
                libraries[path.stem] = app
    return libraries


def _loaded_libraries(argument: str) -> list[str]:
    words = argument.split()
    if "from" in words:  # {% load tag1 tag2 from library %}
        return words[words.index("from") + 1 :]
    return words


def check_templates(root: Path) -> list[str]:
    libraries = tag_libraries(root)
    problems = []
    for path, app in template_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        rel = path.relative_to(root).as_posix()
        for match in INCLUDE_RE.finditer(text):
            tag, name = match.group(1), match.group(3)
            if RANK.get(template_app(Path(name)), -1) > RANK[app]:
                line = text.count("\n", 0, match.start()) + 1
                verb = "includes" if tag == "include" else "extends"
                problems.append(f"upward template: {rel}:{line}: {verb} {name}")
        for match in LOAD_RE.finditer(text):
            for library in _loaded_libraries(match.group(1)):
                owner = libraries.get(library)
                if owner is not None and RANK[owner] > RANK[app]:
                    line = text.count("\n", 0, match.start()) + 1
                    problems.append(f"upward template: {rel}:{line}: loads {library} ({owner})")
    return problems


def check_sizes(modules: dict[str, Module]) -> list[str]:
    problems = []
    for module in sorted(modules.values(), key=lambda m: m.path.as_posix()):
        lines = len(module.source.splitlines())
        if lines > MAX_LINES:
            problems.append(
                f"too long: {module.path.as_posix()}: {lines} lines (max {MAX_LINES})"
            )
    return problems


def check(root: Path = DEFAULT_ROOT) -> list[str]:
    """Every layout problem under root, one line each, in a stable order."""
    root = Path(root)
    modules = product_modules(root)
    graph, problems = import_graph(modules)
    return [
        *problems,
        *check_cycles(graph),
        *check_upward_imports(modules),
        *check_templates(root),
        *check_sizes(modules),
    ]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1:
        print("usage: python -m tools.layout_check [ROOT]", file=sys.stderr)
        return 2
    problems = check(Path(args[0]) if args else DEFAULT_ROOT)
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

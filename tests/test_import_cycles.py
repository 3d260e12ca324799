"""No import cycles between the modules of our packages: a cycle hides which module depends on which.

import-linter's layer contracts (pyproject.toml, run by ``make test``) keep the layers apart; this
test keeps the modules within a layer from leaning on each other in a circle.
"""

from __future__ import annotations

import grimp

PACKAGES = ("workflow", "notifications")
ALLOWED_CYCLES: set[frozenset[str]] = set()
"""None: the last one (errors <-> i18n) went with the gettext catalogues."""


def import_cycles(graph: grimp.ImportGraph) -> list[frozenset[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[frozenset[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, targets = work[-1]
            target = next((t for t in targets if t in graph.modules), None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.find_modules_directly_imported_by(target)))))
                elif target in on_stack:
                    low[module] = min(low[module], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == module:
                        break
                if len(group) > 1:
                    groups.append(frozenset(group))
    return groups


def test_our_modules_import_each_other_without_cycles() -> None:
    graph = grimp.build_graph(*PACKAGES)
    unexpected = [sorted(group) for group in import_cycles(graph) if group not in ALLOWED_CYCLES]
    assert unexpected == [], f"import cycles: {unexpected}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The finder itself, on a graph with one cycle of three modules and a module outside it."""
    graph = grimp.ImportGraph()
    for importer, imported in (("a.one", "a.two"), ("a.two", "a.three"), ("a.three", "a.one"), ("a.four", "a.one")):
        graph.add_import(importer=importer, imported=imported)
    assert import_cycles(graph) == [frozenset({"a.one", "a.two", "a.three"})]

"""One pass over a tree for the loader's questions, shared by everything that asks them.

The payload folder (:class:`auditor.decode.unpack.Folder`: for the loader and again for rules
PG901/PG902) and the helper finders (:mod:`auditor.decode.helpers`: for the loader, rule PG601 and
the native-code check) all need the same few kinds of node from the same tree; this lists them once.
Every list is in ``ast.walk`` order, the order each consumer used to walk the tree in.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from auditor.analysis.nodes import children, tree_nodes

#: recent scans by tree identity (the tree is kept with its scan, so an id is never reused meanwhile)
_scans: dict[int, tuple[ast.AST, "Scan"]] = {}
_MAX_SCANS = 4


@dataclass
class Scan:
    tree: ast.AST
    calls: list[ast.Call] = field(default_factory=list)
    import_nodes: list[ast.Import | ast.ImportFrom] = field(default_factory=list)
    strings: list[ast.Constant] = field(default_factory=list)
    assigns: list[ast.Assign] = field(default_factory=list)
    #: how often each plain name is bound (``Name`` nodes in a store or delete context)
    stores: dict[str, int] = field(default_factory=dict)
    _parents: dict[ast.AST, ast.AST] | None = field(default=None, repr=False)

    @property
    def parents(self) -> dict[ast.AST, ast.AST]:
        """Child → parent links (built on first use: only the helper finders need them)."""
        if self._parents is None:
            parents: dict[ast.AST, ast.AST] = {}
            for node in tree_nodes(self.tree):
                for child in children(node):
                    parents[child] = node
            self._parents = parents
        return self._parents


def scan(tree: ast.AST) -> Scan:
    """The :class:`Scan` of ``tree``, made on first use and shared while it is recent."""
    hit = _scans.get(id(tree))
    if hit is not None and hit[0] is tree:
        return hit[1]
    found = Scan(tree)
    stores = found.stores
    for node in tree_nodes(tree):
        if isinstance(node, ast.Call):
            found.calls.append(node)
        elif isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Load):
                stores[node.id] = stores.get(node.id, 0) + 1
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found.import_nodes.append(node)
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                found.strings.append(node)
        elif isinstance(node, ast.Assign):
            found.assigns.append(node)
    if len(_scans) >= _MAX_SCANS:
        _scans.clear()
    _scans[id(tree)] = (tree, found)
    return found

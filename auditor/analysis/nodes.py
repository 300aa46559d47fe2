"""Child lists of the syntax trees being audited, derived once and shared by every walk over them.

The loader (packed-payload folding, helper discovery), the core index and the fact modules walk the
same tree many times over. ``ast.iter_child_nodes`` re-derives a node's children on every visit (two
generators and a ``getattr`` per field), which made it the largest single cost of the static stage.
:func:`tree_nodes` lists every node's children once per tree; :func:`children` and :func:`walk` then
only read those lists. They return exactly what ``ast.iter_child_nodes`` and ``ast.walk`` give, in
the same order, for any node (one outside an indexed tree is worked out on the spot), so no result
depends on which of the two a caller uses.
"""

from __future__ import annotations

import ast
from collections import OrderedDict

#: children of every node of the recently indexed trees (operator and context nodes are singletons
#: that ``ast.parse`` shares between trees: their lists are empty either way)
_kids: dict[ast.AST, list[ast.AST]] = {}
#: recently indexed trees by identity, each with its nodes in walk order; holding the tree keeps its
#: id from being reused while it is listed
_trees: OrderedDict[int, tuple[ast.AST, list[ast.AST]]] = OrderedDict()
#: child lists that hold nothing or one singleton node (``ast.parse`` shares its context and operator
#: nodes), one list per content; bounded, since a tree built by hand has its own context nodes
_shared: dict[tuple[ast.AST, ...], list[ast.AST]] = {}
_MAX_SHARED = 64
_LEAVES = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
#: trees kept indexed: one audit reads its script and, now and then, a helper or a decoded payload
MAX_TREES = 4


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """``list(ast.iter_child_nodes(node))``, worked out (without its generators)."""
    out: list[ast.AST] = []
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            out.append(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, ast.AST):
                    out.append(item)
    return out


def children(node: ast.AST) -> list[ast.AST]:
    """``list(ast.iter_child_nodes(node))``; the list may be shared, so callers must not modify it."""
    found = _kids.get(node)
    return found if found is not None else child_nodes(node)


def walk(node: ast.AST) -> list[ast.AST]:
    """``list(ast.walk(node))``: breadth first, in the same order (a new list)."""
    out = [node]
    kids = _kids
    for n in out:  # the list grows while it is read
        found = kids.get(n)
        out.extend(found if found is not None else child_nodes(n))
    return out


def tree_nodes(tree: ast.AST) -> list[ast.AST]:
    """``list(ast.walk(tree))``, shared (do not modify); indexes the children of every node in it."""
    hit = _trees.get(id(tree))
    if hit is not None and hit[0] is tree:
        _trees.move_to_end(id(tree))
        return hit[1]
    order = [tree]
    shared = _shared
    for node in order:
        found = _kids.get(node)
        if found is None:
            found = child_nodes(node)
            if len(found) < 2 and (not found or isinstance(found[0], _LEAVES)):
                # ``Name``'s ``[Load()]``, a constant's ``[]``: one shared list per content instead of one
                # per node, so that the index adds few objects for the garbage collector to traverse
                key = tuple(found)
                same = shared.get(key)
                if same is None and len(shared) < _MAX_SHARED:
                    same = shared[key] = found
                found = found if same is None else same
            _kids[node] = found
        order.extend(found)
    _trees[id(tree)] = (tree, order)
    while len(_trees) > MAX_TREES:
        _, (_, old) = _trees.popitem(last=False)
        for node in old:
            _kids.pop(node, None)
    return order


#: per indexed tree: node type → its nodes in walk order (built on the first question about the tree)
_typed: dict[int, tuple[ast.AST, dict[type, list[ast.AST]]]] = {}


def of_type(tree: ast.AST, *types: type) -> list[ast.AST]:
    """The nodes of ``tree`` that are instances of ``types``, in ``ast.walk`` order: rules that look for
    one kind of node ask this index instead of walking the whole tree again."""
    hit = _typed.get(id(tree))
    if hit is None or hit[0] is not tree:
        index: dict[type, list[ast.AST]] = {}
        for node in tree_nodes(tree):
            index.setdefault(type(node), []).append(node)
        hit = _typed[id(tree)] = (tree, index)
        while len(_typed) > MAX_TREES:
            _typed.pop(next(iter(_typed)))
    index = hit[1]
    matched = [k for k in index if issubclass(k, types)]
    if len(matched) == 1:
        return index[matched[0]]
    if not matched:
        return []
    order = {id(n): i for i, n in enumerate(tree_nodes(tree))}
    return sorted((n for k in matched for n in index[k]), key=lambda n: order[id(n)])

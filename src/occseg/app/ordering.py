"""Occlusion order of annotated objects: cycles and relative depth from "A in front of B" edges.

Edges are ``(front, back)`` object-id pairs. Cycles are the strongly connected components with
more than one object (Tarjan's algorithm); relative depth is the longest path from a front-most
object in the graph of components, so depth 0 is in front of everything it touches and objects of
one cycle share a depth.

>>> find_cycles([1, 2, 3], [(1, 2), (2, 3), (3, 1)])
[[1, 2, 3]]
>>> relative_depth([1, 2, 3, 4], [(1, 2), (2, 3)])
{1: 0, 2: 1, 3: 2, 4: 0}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["find_cycles", "relative_depth", "strongly_connected"]


def _adjacency(ids: Sequence[int], edges: Iterable[tuple[int, int]]) -> dict[int, list[int]]:
    adj: dict[int, list[int]] = {i: [] for i in ids}
    for front, back in edges:
        if front in adj and back in adj and back not in adj[front]:
            adj[front].append(back)
    return adj


def strongly_connected(ids: Sequence[int], edges: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Strongly connected components (each sorted), iterative Tarjan; unknown ids are ignored."""
    adj = _adjacency(ids, edges)
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    comps: list[list[int]] = []
    counter = 0
    for root in ids:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            recurse = False
            for j in range(i, len(adj[node])):
                nxt = adj[node][j]
                if nxt not in index:
                    work.append((node, j + 1))
                    work.append((nxt, 0))
                    recurse = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if recurse:
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                comps.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return comps


def find_cycles(ids: Sequence[int], edges: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Groups of objects whose order contradicts itself (A before B before … before A)."""
    return sorted((c for c in strongly_connected(ids, edges) if len(c) > 1), key=lambda c: c[0])


def relative_depth(ids: Sequence[int], edges: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Depth layer of every object: 0 for front-most, ``1 + max(depth of its occluders)`` else."""
    edges = list(edges)
    comps = strongly_connected(ids, edges)
    comp_of = {n: k for k, comp in enumerate(comps) for n in comp}
    preds: dict[int, set[int]] = {k: set() for k in range(len(comps))}
    for front, back in edges:
        if front in comp_of and back in comp_of and comp_of[front] != comp_of[back]:
            preds[comp_of[back]].add(comp_of[front])
    depth: dict[int, int] = {}

    def comp_depth(k: int) -> int:
        # iterative DFS over predecessors (the component graph is acyclic)
        todo = [k]
        while todo:
            c = todo[-1]
            missing = [p for p in preds[c] if p not in depth]
            if missing:
                todo.extend(missing)
                continue
            depth[c] = 1 + max((depth[p] for p in preds[c]), default=-1)
            todo.pop()
        return depth[k]

    return {n: comp_depth(comp_of[n]) for n in ids}

"""An entity's neighbourhood drawn as an inline SVG dependency graph.

Plain Python (no Django, no Graphviz, no JavaScript). The entity page collects the
relation rows around one entity, narrows them with ``neighbourhood()``, describes each
entity as a ``GraphNode`` and hands everything to ``render_neighbourhood_svg()``, whose
result can be placed in the page as it is: every piece of text taken from the input is
XML-escaped and links are limited to safe schemes.

Public API
----------
``GraphNode(ref, label, kind, url=None, missing=False)``
    One entity: its reference (``component:default/x``), the text to show, its kind
    (``Component``, ``component``, ``API`` ...), the page to link to (or ``None``) and
    whether the catalog lacks it (drawn dashed).

``GraphEdge(source, target, label)``
    One relation ``source --label--> target`` (``dependsOn``, ``ownedBy`` ...).

``neighbourhood(center, relations, depth=1, max_nodes=60) -> Neighbourhood``
    Walks ``(source_ref, type, target_ref)`` rows outwards and inwards from ``center``
    up to ``depth`` hops. Each reverse pair is kept once, in its forward form
    (``dependsOn``, ``providesApi``, ``consumesApi``, ``partOf``, ``ownedBy``,
    ``memberOf``, ``childOf``); a reverse relation seen alone (``B dependencyOf A``)
    becomes its forward form (``A dependsOn B``). Refs are compared without regard to
    case and returned lower-cased (their canonical form). At most ``max_nodes`` refs are
    kept, nearest first. The result unpacks as ``refs, edges`` (a set of refs and a
    sorted list of ``GraphEdge`` among them) and also carries ``.omitted``, the number of
    refs within ``depth`` that did not fit.

``layout_neighbourhood(center, nodes, edges, *, max_nodes=60, omitted=0) -> GraphLayout``
    The layered layout alone (positions, layer order, edge routes), for callers that
    draw differently and for tests.

``render_neighbourhood_svg(center, nodes, edges, *, max_nodes=60, omitted=0) -> str``
    The SVG document fragment (``<svg ...>...</svg>``). Edge endpoints without a
    ``GraphNode`` are drawn as missing entities. When more than ``max_nodes`` entities
    are given, the nearest are kept and a note says how many were left out (plus
    ``omitted``, for entities the caller already dropped, e.g. ``Neighbourhood.omitted``).

``GraphError``
    Raised for input that cannot be drawn (wrong types, a bad ``max_nodes`` ...), with
    a message naming the offending value.

Layout
------
A simplified Sugiyama layout, left to right. Containment and ownership relations
(``ownedBy``, ``partOf``, ``memberOf``, ``childOf`` and the reverse forms of
dependencies) are laid out with their target on the left, so owners, systems and
dependents sit left of an entity and its dependencies and APIs to its right. Cycles are
broken by reversing the back edges found by a depth-first search; layers come from the
longest path, with sources pulled next to their successors; edges spanning several
layers get invisible waypoints; the order inside each layer comes from barycenter
sweeps (the order with the fewest crossings wins); vertical positions are pulled towards
neighbours while keeping that order. The output is the same for the same input: every
choice that would otherwise depend on set or dict order is made on sorted refs.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from catalog.refs import (
    RELATION_API_CONSUMED_BY,
    RELATION_API_PROVIDED_BY,
    RELATION_CHILD_OF,
    RELATION_CONSUMES_API,
    RELATION_DEPENDENCY_OF,
    RELATION_DEPENDS_ON,
    RELATION_MEMBER_OF,
    RELATION_OWNED_BY,
    RELATION_PART_OF,
    RELATION_PROVIDES_API,
    REVERSE_RELATION,
)

__all__ = [
    "MAX_NODES_LIMIT",
    "GraphEdge",
    "GraphError",
    "GraphLayout",
    "GraphNode",
    "Neighbourhood",
    "PlacedEdge",
    "PlacedNode",
    "layout_neighbourhood",
    "neighbourhood",
    "render_neighbourhood_svg",
]

# Beyond a few hundred boxes the drawing is unreadable and the layout gets slow.
MAX_NODES_LIMIT = 500

FORWARD_RELATIONS = (
    RELATION_DEPENDS_ON,
    RELATION_PROVIDES_API,
    RELATION_CONSUMES_API,
    RELATION_PART_OF,
    RELATION_OWNED_BY,
    RELATION_MEMBER_OF,
    RELATION_CHILD_OF,
)
_BACKWARD_TO_FORWARD = {REVERSE_RELATION[forward]: forward for forward in FORWARD_RELATIONS}

# Relations drawn with their target on the left: the things an entity belongs to, and
# the reverse forms of "points to the right" relations.
_TARGET_ON_LEFT = frozenset(
    {
        RELATION_OWNED_BY,
        RELATION_PART_OF,
        RELATION_MEMBER_OF,
        RELATION_CHILD_OF,
        RELATION_DEPENDENCY_OF,
        RELATION_API_PROVIDED_BY,
        RELATION_API_CONSUMED_BY,
    }
)


class GraphError(ValueError):
    """Input the graph cannot be built from; the message names the offending value."""


@dataclass(frozen=True)
class GraphNode:
    ref: str
    label: str
    kind: str
    url: str | None = None
    missing: bool = False


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    label: str


class Neighbourhood(tuple):
    """``(refs, edges)`` with ``.omitted``: refs within reach that did not fit."""

    omitted: int

    def __new__(cls, refs: set[str], edges: list[GraphEdge], omitted: int = 0) -> Neighbourhood:
        self = super().__new__(cls, (refs, edges))
        self.omitted = omitted
        return self

    @property
    def refs(self) -> set[str]:
        return self[0]

    @property
    def edges(self) -> list[GraphEdge]:
        return self[1]


@dataclass(frozen=True)
class PlacedNode:
    ref: str
    label: str
    kind: str
    url: str | None
    missing: bool
    is_center: bool
    layer: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class PlacedEdge:
    source: str
    target: str
    label: str
    # Route from the source box to the target box, through waypoints in between.
    points: tuple[tuple[float, float], ...]
    # Baseline of the label's middle.
    label_at: tuple[float, float]


@dataclass(frozen=True)
class GraphLayout:
    center: str
    nodes: tuple[PlacedNode, ...]
    edges: tuple[PlacedEdge, ...]
    # Refs of each layer, left to right, top to bottom (waypoints left out).
    layers: tuple[tuple[str, ...], ...]
    width: float
    height: float
    omitted: int


# ---------------------------------------------------------------------------
# Input checks


def _check_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise GraphError(f"{what} must be a string, not {type(value).__name__}")
    return value


def _check_ref(value: object, what: str) -> str:
    ref = _check_text(value, what).strip()
    if not ref:
        raise GraphError(f"{what} must not be empty")
    return ref.lower()


def _check_max_nodes(max_nodes: object) -> int:
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int):
        raise GraphError(f"max_nodes must be an integer, not {type(max_nodes).__name__}")
    if not 1 <= max_nodes <= MAX_NODES_LIMIT:
        raise GraphError(f"max_nodes must be between 1 and {MAX_NODES_LIMIT}, not {max_nodes}")
    return max_nodes


def _check_count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise GraphError(f"{what} must be a non-negative integer, not {value!r}")
    return value


# ---------------------------------------------------------------------------
# Neighbourhood


def _forward_form(source: str, relation_type: str, target: str) -> tuple[str, str, str]:
    forward = _BACKWARD_TO_FORWARD.get(relation_type)
    if forward is not None:
        return target, forward, source
    return source, relation_type, target


def _distances(center: str, adjacency: dict[str, set[str]], depth: int | None) -> dict[str, int]:
    """Hops from ``center`` over edges in either direction, up to ``depth`` (``None``: no limit)."""
    distance = {center: 0}
    frontier = [center]
    hops = 0
    while frontier and (depth is None or hops < depth):
        hops += 1
        following = []
        for ref in frontier:
            for neighbour in sorted(adjacency.get(ref, ())):
                if neighbour not in distance:
                    distance[neighbour] = hops
                    following.append(neighbour)
        frontier = sorted(following)
    return distance


def neighbourhood(
    center: str,
    relations: Iterable[tuple[str, str, str]],
    depth: int = 1,
    max_nodes: int = 60,
) -> Neighbourhood:
    """Refs within ``depth`` hops of ``center`` and the forward relations among them."""
    center = _check_ref(center, "center")
    depth = _check_count(depth, "depth")
    max_nodes = _check_max_nodes(max_nodes)
    if isinstance(relations, (str, bytes)):
        raise GraphError("relations must be rows of (source_ref, type, target_ref), not a string")

    edges: set[tuple[str, str, str]] = set()
    adjacency: dict[str, set[str]] = {}
    try:
        rows = iter(relations)
    except TypeError:
        raise GraphError(f"relations must be iterable, not {type(relations).__name__}")
    for index, row in enumerate(rows):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence) or len(row) != 3:
            raise GraphError(f"relation #{index} must be (source_ref, type, target_ref), not {row!r:.80}")
        source = _check_ref(row[0], f"source of relation #{index}")
        relation_type = _check_text(row[1], f"type of relation #{index}").strip()
        target = _check_ref(row[2], f"target of relation #{index}")
        if not relation_type:
            raise GraphError(f"type of relation #{index} must not be empty")
        if source == target:
            continue
        source, relation_type, target = _forward_form(source, relation_type, target)
        edges.add((source, relation_type, target))
        adjacency.setdefault(source, set()).add(target)
        adjacency.setdefault(target, set()).add(source)

    distance = _distances(center, adjacency, depth)
    ranked = sorted(distance, key=lambda ref: (distance[ref], ref))
    kept = set(ranked[:max_nodes])
    kept_edges = sorted(
        (GraphEdge(source, target, label) for source, label, target in edges if source in kept and target in kept),
        key=lambda edge: (edge.source, edge.label, edge.target),
    )
    return Neighbourhood(kept, kept_edges, len(ranked) - len(kept))


# ---------------------------------------------------------------------------
# Layout

NODE_WIDTH = 184.0
NODE_HEIGHT = 50.0
WAYPOINT_HEIGHT = 12.0
LAYER_GAP = 128.0
NODE_GAP = 20.0
MARGIN = 16.0
NOTE_HEIGHT = 22.0
# Distance between parallel edges joining the same two boxes.
PARALLEL_OFFSET = 12.0
# Most distance between the ends of edges meeting one side of a box.
PORT_SPACING = 8.0
LABEL_ABOVE = 4.0
LABEL_BELOW = 11.0
_SWEEPS = 8
_PLACEMENT_ROUNDS = 6
# Waypoints for one drawing; a few thousand keep a pathological graph under a second or two.
WAYPOINT_BUDGET = 2000


@dataclass
class _Graph:
    """Working state of one layout: node ids are ints, waypoints come after real nodes."""

    keys: list[str]  # ref of each real node, by id
    layer: list[int]
    height: list[float]
    successors: list[list[int]]
    predecessors: list[list[int]]
    order: list[list[int]]


def _display_kind(kind: str) -> str:
    known = {
        "component": "Component",
        "api": "API",
        "resource": "Resource",
        "system": "System",
        "domain": "Domain",
        "group": "Group",
        "user": "User",
        "template": "Template",
        "location": "Location",
    }
    return known.get(kind.strip().lower(), kind.strip())


def _split_ref(ref: str) -> tuple[str, str]:
    """(kind, name) of a ``kind:namespace/name`` string, as far as it has them."""
    kind, _, rest = ref.partition(":") if ":" in ref.split("/", 1)[0] else ("", "", ref)
    name = rest.rsplit("/", 1)[-1]
    return kind, name or ref


def _collect_nodes(center: str, nodes: object, edges: object) -> tuple[dict[str, GraphNode], set[tuple[str, str, str]]]:
    if isinstance(nodes, (str, bytes)) or not isinstance(nodes, Iterable):
        raise GraphError(f"nodes must be a list of GraphNode, not {type(nodes).__name__}")
    if isinstance(edges, (str, bytes)) or not isinstance(edges, Iterable):
        raise GraphError(f"edges must be a list of GraphEdge, not {type(edges).__name__}")
    by_ref: dict[str, GraphNode] = {}
    for index, node in enumerate(nodes):
        if not isinstance(node, GraphNode):
            raise GraphError(f"node #{index} must be a GraphNode, not {type(node).__name__}")
        ref = _check_ref(node.ref, f"ref of node #{index}")
        _check_text(node.label, f"label of node {ref!r:.80}")
        _check_text(node.kind, f"kind of node {ref!r:.80}")
        if node.url is not None:
            _check_text(node.url, f"url of node {ref!r:.80}")
        # The first description of an entity wins; later duplicates add nothing.
        by_ref.setdefault(ref, node)
    edge_keys: set[tuple[str, str, str]] = set()
    for index, edge in enumerate(edges):
        if not isinstance(edge, GraphEdge):
            raise GraphError(f"edge #{index} must be a GraphEdge, not {type(edge).__name__}")
        source = _check_ref(edge.source, f"source of edge #{index}")
        target = _check_ref(edge.target, f"target of edge #{index}")
        label = _check_text(edge.label, f"label of edge #{index}").strip()
        if source != target:
            edge_keys.add((source, target, label))
    for ref in [center, *sorted({ref for source, target, _ in edge_keys for ref in (source, target)})]:
        if ref not in by_ref:
            kind, name = _split_ref(ref)
            by_ref[ref] = GraphNode(ref=ref, label=name, kind=kind, url=None, missing=True)
    return by_ref, edge_keys


def _break_cycles(count: int, arcs: set[tuple[int, int]], start_order: list[int]) -> set[tuple[int, int]]:
    """The arcs with back edges (found by depth-first search) reversed: an acyclic set."""
    successors: list[list[int]] = [[] for _ in range(count)]
    for u, v in sorted(arcs):
        successors[u].append(v)
    state = [0] * count  # 0 unseen, 1 on the stack, 2 finished
    back: set[tuple[int, int]] = set()
    for root in start_order:
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, iter(successors[root]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state[child] == 1:
                back.add((node, child))
            elif state[child] == 0:
                state[child] = 1
                stack.append((child, iter(successors[child])))
    return {(v, u) if (u, v) in back else (u, v) for u, v in arcs}


def _longest_path_layers(count: int, arcs: set[tuple[int, int]], center: int) -> list[int]:
    successors: list[list[int]] = [[] for _ in range(count)]
    predecessors: list[list[int]] = [[] for _ in range(count)]
    for u, v in sorted(arcs):
        successors[u].append(v)
        predecessors[v].append(u)
    indegree = [len(p) for p in predecessors]
    ready = [n for n in range(count) if indegree[n] == 0]
    heapq.heapify(ready)
    topological = []
    layer = [0] * count
    while ready:
        node = heapq.heappop(ready)
        topological.append(node)
        for child in successors[node]:
            layer[child] = max(layer[child], layer[node] + 1)
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, child)
    # Sources sit right before their nearest successor, not all in the first column.
    for node in reversed(topological):
        if not predecessors[node] and successors[node]:
            layer[node] = min(layer[child] for child in successors[node]) - 1
    # Unconnected entities share the center's column.
    for node in range(count):
        if not predecessors[node] and not successors[node]:
            layer[node] = layer[center]
    lowest = min(layer, default=0)
    return [value - lowest for value in layer]


def _count_inversions(values: list[float]) -> int:
    """Pairs ``i < j`` with ``values[i] > values[j]``: the crossings between two layers."""
    seen: list[float] = []
    count = 0
    for value in values:
        count += len(seen) - bisect.bisect_right(seen, value)
        bisect.insort(seen, value)
    return count


def _crossings(graph: _Graph) -> int:
    total = 0
    for upper, lower in zip(graph.order, graph.order[1:], strict=False):
        position = {node: index for index, node in enumerate(lower)}
        pairs = sorted(
            (top_index, position[child])
            for top_index, node in enumerate(upper)
            for child in graph.successors[node]
            if child in position
        )
        total += _count_inversions([float(bottom) for _, bottom in pairs])
    return total


def _sweep(graph: _Graph, downwards: bool) -> None:
    layers = range(1, len(graph.order)) if downwards else range(len(graph.order) - 2, -1, -1)
    for index in layers:
        fixed = graph.order[index - 1] if downwards else graph.order[index + 1]
        position = {node: i for i, node in enumerate(fixed)}
        neighbours = graph.predecessors if downwards else graph.successors

        def barycenter(item: tuple[int, int], position: dict[int, int] = position, neighbours=neighbours) -> tuple:
            current, node = item
            linked = [position[n] for n in neighbours[node] if n in position]
            # Nodes without neighbours in the fixed layer keep their place.
            return (sum(linked) / len(linked) if linked else float(current), current)

        graph.order[index] = [node for _, node in sorted(enumerate(graph.order[index]), key=barycenter)]


def _reduce_crossings(graph: _Graph) -> None:
    best = [list(layer) for layer in graph.order]
    best_crossings = _crossings(graph)
    for sweep in range(_SWEEPS):
        if best_crossings == 0:
            break
        _sweep(graph, downwards=sweep % 2 == 0)
        crossings = _crossings(graph)
        if crossings < best_crossings:
            best, best_crossings = [list(layer) for layer in graph.order], crossings
    graph.order = best


def _isotonic(values: list[float]) -> list[float]:
    """Closest non-decreasing sequence in least squares (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, size]
    for value in values:
        blocks.append([value, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, size = blocks.pop()
            previous = blocks[-1]
            previous[0] = (previous[0] * previous[1] + mean * size) / (previous[1] + size)
            previous[1] += size
    result = []
    for mean, size in blocks:
        result.extend([mean] * int(size))
    return result


def _place_vertically(graph: _Graph) -> list[float]:
    """Top edge of every node: stacked per layer, then pulled towards neighbours in order."""
    count = len(graph.layer)
    top = [0.0] * count
    extents = [sum(graph.height[n] for n in layer) + NODE_GAP * (len(layer) - 1) for layer in graph.order]
    tallest = max(extents, default=0.0)
    for layer, extent in zip(graph.order, extents, strict=True):
        y = (tallest - extent) / 2
        for node in layer:
            top[node] = y
            y += graph.height[node] + NODE_GAP
    for round_index in range(_PLACEMENT_ROUNDS):
        layers = graph.order if round_index % 2 == 0 else list(reversed(graph.order))
        for layer in layers:
            desired = []
            for node in layer:
                linked = graph.predecessors[node] + graph.successors[node]
                middle = (
                    sum(top[n] + graph.height[n] / 2 for n in linked) / len(linked)
                    if linked
                    else top[node] + graph.height[node] / 2
                )
                desired.append(middle - graph.height[node] / 2)
            # Shift out the minimum spacing, fit a non-decreasing sequence, shift back.
            offsets = []
            offset = 0.0
            for node in layer:
                offsets.append(offset)
                offset += graph.height[node] + NODE_GAP
            fitted = _isotonic([want - off for want, off in zip(desired, offsets, strict=True)])
            for node, value, off in zip(layer, fitted, offsets, strict=True):
                top[node] = value + off
    lowest = min(top, default=0.0)
    return [value - lowest for value in top]


def _build_graph(
    keys: list[str], arcs: set[tuple[int, int]], layer: list[int]
) -> tuple[_Graph, dict[tuple[int, int], list[int]]]:
    """Adds waypoints to arcs longer than one layer; returns the graph and each arc's chain."""
    real = len(keys)
    heights = [NODE_HEIGHT] * real
    layers = list(layer)
    successors: list[list[int]] = [[] for _ in range(real)]
    predecessors: list[list[int]] = [[] for _ in range(real)]
    chains: dict[tuple[int, int], list[int]] = {}
    spare = WAYPOINT_BUDGET
    for u, v in sorted(arcs, key=lambda arc: (keys[arc[0]], keys[arc[1]])):
        chain = [u]
        span = range(layer[u] + 1, layer[v])
        if len(span) > spare:
            # Past the budget long edges are drawn straight; huge graphs stay quick to lay out.
            span = range(0)
        spare -= len(span)
        for step in span:
            waypoint = len(layers)
            layers.append(step)
            heights.append(WAYPOINT_HEIGHT)
            successors.append([])
            predecessors.append([])
            chain.append(waypoint)
        chain.append(v)
        for a, b in zip(chain, chain[1:], strict=False):
            successors[a].append(b)
            predecessors[b].append(a)
        chains[(u, v)] = chain
    order: list[list[int]] = [[] for _ in range(max(layers, default=0) + 1)]
    # Waypoints follow real nodes in creation order, which follows sorted refs.
    for node in range(len(layers)):
        order[layers[node]].append(node)
    return _Graph(keys, layers, heights, successors, predecessors, order), chains


def _keep_nearest(center: str, refs: list[str], edge_keys: set[tuple[str, str, str]], max_nodes: int) -> set[str]:
    adjacency: dict[str, set[str]] = {}
    for source, target, _ in edge_keys:
        adjacency.setdefault(source, set()).add(target)
        adjacency.setdefault(target, set()).add(source)
    distance = _distances(center, adjacency, None)
    unreachable = len(refs) + 1
    ranked = sorted(refs, key=lambda ref: (distance.get(ref, unreachable), ref))
    return set(ranked[:max_nodes])


def layout_neighbourhood(
    center: str,
    nodes: list[GraphNode],
    edges: list[GraphEdge],
    *,
    max_nodes: int = 60,
    omitted: int = 0,
) -> GraphLayout:
    """Positions for the boxes and routes for the edges of the graph around ``center``."""
    center = _check_ref(center, "center")
    max_nodes = _check_max_nodes(max_nodes)
    omitted = _check_count(omitted, "omitted")
    by_ref, edge_keys = _collect_nodes(center, nodes, edges)

    kept = _keep_nearest(center, sorted(by_ref), edge_keys, max_nodes)
    omitted += len(by_ref) - len(kept)
    keys = sorted(kept)
    ids = {ref: index for index, ref in enumerate(keys)}
    edge_keys = {edge for edge in edge_keys if edge[0] in kept and edge[1] in kept}

    def layout_arc(edge: tuple[str, str, str]) -> tuple[int, int]:
        source, target, label = edge
        return (ids[target], ids[source]) if label in _TARGET_ON_LEFT else (ids[source], ids[target])

    wanted = {layout_arc(edge) for edge in edge_keys}
    start = [ids[center], *(i for i in range(len(keys)) if i != ids[center])]
    acyclic = _break_cycles(len(keys), wanted, start)
    layer = _longest_path_layers(len(keys), acyclic, ids[center])
    graph, chains = _build_graph(keys, acyclic, layer)
    _reduce_crossings(graph)
    top = _place_vertically(graph)

    def left_of(node: int) -> float:
        return MARGIN + graph.layer[node] * (NODE_WIDTH + LAYER_GAP)

    offset_top = MARGIN
    placed = tuple(
        PlacedNode(
            ref=ref,
            label=by_ref[ref].label,
            kind=by_ref[ref].kind,
            url=by_ref[ref].url,
            missing=bool(by_ref[ref].missing),
            is_center=ref == center,
            layer=graph.layer[ids[ref]],
            x=left_of(ids[ref]),
            y=offset_top + top[ids[ref]],
            width=NODE_WIDTH,
            height=NODE_HEIGHT,
        )
        for ref in keys
    )

    # Edges between the same two boxes are merged per direction and drawn side by side.
    labels: dict[tuple[str, str], list[str]] = {}
    for source, target, label in sorted(edge_keys):
        labels.setdefault((source, target), []).append(label)
    pairs: dict[frozenset[str], list[tuple[str, str]]] = {}
    for source, target in sorted(labels):
        pairs.setdefault(frozenset((source, target)), []).append((source, target))

    def middle_y(node: int) -> float:
        return offset_top + top[node] + graph.height[node] / 2

    def x_at(node: int, towards: int) -> float:
        if node >= len(keys):
            return left_of(node) + NODE_WIDTH / 2
        return left_of(node) + (NODE_WIDTH if graph.layer[towards] > graph.layer[node] else 0.0)

    drafts = []
    # Edges meeting one side of a box get their own ports, ordered by where they come from.
    ports: dict[tuple[int, bool], list[tuple[float, int, int]]] = {}
    for index, ((source, target), names) in enumerate(sorted(labels.items())):
        u, v = ids[source], ids[target]
        chain = chains.get((u, v)) or list(reversed(chains[(v, u)]))
        siblings = pairs[frozenset((source, target))]
        shift = (siblings.index((source, target)) - (len(siblings) - 1) / 2) * PARALLEL_OFFSET
        drafts.append((source, target, names, chain, shift))
        for end, neighbour in ((0, chain[1]), (len(chain) - 1, chain[-2])):
            node = chain[end]
            side = (node, graph.layer[neighbour] > graph.layer[node])
            ports.setdefault(side, []).append((middle_y(neighbour) + shift, index, end))
    port_offset: dict[tuple[int, int], float] = {}
    for (node, _), attached in ports.items():
        attached.sort()
        spacing = min(PORT_SPACING, graph.height[node] * 0.6 / max(len(attached) - 1, 1))
        for rank, (_, index, end) in enumerate(attached):
            port_offset[(index, end)] = (rank - (len(attached) - 1) / 2) * spacing

    routes = []
    for index, (source, target, names, chain, shift) in enumerate(drafts):
        points = []
        for position, node in enumerate(chain):
            towards = chain[position + 1] if position + 1 < len(chain) else chain[position - 1]
            offset = port_offset.get((index, position), shift)
            points.append((x_at(node, towards), middle_y(node) + offset))
        label_x, label_y = _midpoint(points)
        # The second of two opposite edges between the same boxes is labelled under its line.
        label_y += LABEL_BELOW if shift > 0 else -LABEL_ABOVE
        routes.append(
            PlacedEdge(
                source=source, target=target, label=", ".join(names), points=tuple(points), label_at=(label_x, label_y)
            )
        )

    layer_refs = tuple(tuple(keys[n] for n in layer if n < len(keys)) for layer in graph.order)
    columns = max(graph.layer, default=0) + 1
    width = 2 * MARGIN + columns * NODE_WIDTH + (columns - 1) * LAYER_GAP
    bottom = max((offset_top + top[n] + graph.height[n] for n in range(len(graph.layer))), default=offset_top)
    height = bottom + MARGIN + (NOTE_HEIGHT if omitted else 0.0)
    return GraphLayout(
        center=center,
        nodes=placed,
        edges=tuple(routes),
        layers=layer_refs,
        width=width,
        height=height,
        omitted=omitted,
    )


# ---------------------------------------------------------------------------
# Drawing

_KIND_CLASSES = frozenset({"component", "api", "resource", "system", "domain", "group", "user"})

# Light colours first; the dark scheme swaps fills for deep tints and strokes for lighter ones.
_PALETTE = {
    "component": ("#e8f1fb", "#2f6db3", "#16283d", "#74aaea"),
    "api": ("#e8f6ee", "#2b8552", "#12301f", "#62c48e"),
    "resource": ("#fdf0e2", "#b8620f", "#3a2512", "#eea35d"),
    "system": ("#f1ebfb", "#6c46b3", "#251a3d", "#ab8ee8"),
    "domain": ("#fbe9f1", "#ad356d", "#3a1628", "#e67ca9"),
    "group": ("#e5f5f6", "#1c8189", "#0f3033", "#5ec4cd"),
    "user": ("#f6f2df", "#86761c", "#332e10", "#d7c45c"),
    "other": ("#eff1f4", "#667085", "#24272d", "#a0a8b6"),
}


def _stylesheet() -> str:
    light = []
    dark = []
    for kind, (fill, stroke, dark_fill, dark_stroke) in _PALETTE.items():
        light.append(f".cw-graph .kind-{kind} rect{{fill:{fill};stroke:{stroke}}}")
        light.append(f".cw-graph .kind-{kind} .node-kind{{fill:{stroke}}}")
        dark.append(f".cw-graph .kind-{kind} rect{{fill:{dark_fill};stroke:{dark_stroke}}}")
        dark.append(f".cw-graph .kind-{kind} .node-kind{{fill:{dark_stroke}}}")
    rules = [
        ".cw-graph{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}",
        ".cw-graph .node rect{stroke-width:1.5}",
        ".cw-graph .node-label{font-size:13px;fill:#1f2933}",
        ".cw-graph .node-kind{font-size:10px;letter-spacing:.04em;text-transform:uppercase}",
        ".cw-graph .center rect{stroke-width:3}",
        ".cw-graph .center .node-label{font-weight:600}",
        ".cw-graph .missing rect{stroke-dasharray:5 4;fill-opacity:.45}",
        ".cw-graph .missing .node-label{font-style:italic}",
        ".cw-graph a:hover rect,.cw-graph a:focus rect{stroke-width:2.5}",
        ".cw-graph .edge path{fill:none;stroke:#7b8494;stroke-width:1.4}",
        ".cw-graph .arrowhead{fill:#7b8494}",
        ".cw-graph .edge-label{font-size:10px;fill:#4b5563;paint-order:stroke;"
        "stroke:rgba(255,255,255,.85);stroke-width:3px;stroke-linejoin:round}",
        ".cw-graph .graph-note{font-size:11px;fill:#6b7280}",
        *light,
        "@media (prefers-color-scheme: dark){"
        ".cw-graph .node-label{fill:#e5e7eb}"
        ".cw-graph .edge path{stroke:#9aa3b2}"
        ".cw-graph .arrowhead{fill:#9aa3b2}"
        ".cw-graph .edge-label{fill:#cbd2dc;stroke:rgba(18,19,26,.85)}"
        ".cw-graph .graph-note{fill:#9aa3b2}" + "".join(dark) + "}",
    ]
    return "\n".join(rules)


# Characters XML 1.0 forbids even when escaped, and bidirectional controls that could
# make one entity's name pose as another.
_UNSAFE_CHARS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]"
)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_MAX_TEXT_CHARS = 200


def _clean(text: str) -> str:
    return _UNSAFE_CHARS.sub("", text)


def _escape(text: str) -> str:
    return (
        _clean(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _safe_url(url: str | None) -> str | None:
    """The url if it is relative or uses a safe scheme; ``None`` otherwise."""
    if url is None:
        return None
    url = _clean(url).strip()
    if not url:
        return None
    # Browsers drop whitespace and control characters inside a scheme ("java\tscript:").
    squeezed = re.sub(r"[\s\x00-\x1f\x7f]+", "", url).lower()
    match = _SCHEME.match(squeezed)
    if match and match.group(1) not in _SAFE_SCHEMES:
        return None
    if not match and ":" in squeezed.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]:
        # Something like "&#106;avascript:" or an odd scheme we do not recognise.
        return None
    return url


def _char_width(char: str, size: float) -> float:
    if unicodedata.combining(char):
        return 0.0
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return size
    if char in "iljI.,:;'|!()[] ":
        return size * 0.32
    if char.isupper() or char in "mwMW@%":
        return size * 0.72
    return size * 0.56


def _fit(text: str, width: float, size: float) -> str:
    """``text`` cut to fit ``width`` at font ``size``, ending with an ellipsis when cut."""
    text = " ".join(_clean(text).split())[:_MAX_TEXT_CHARS]
    total = 0.0
    widths = [_char_width(char, size) for char in text]
    if sum(widths) <= width:
        return text
    room = width - _char_width("…", size)
    end = 0
    while end < len(widths) and total + widths[end] <= room:
        total += widths[end]
        end += 1
    return text[:end].rstrip() + "…"


def _number(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _path(points: Sequence[tuple[float, float]]) -> str:
    x0, y0 = points[0]
    parts = [f"M{_number(x0)},{_number(y0)}"]
    for (ax, ay), (bx, by) in zip(points, points[1:], strict=False):
        bend = (bx - ax) / 2
        parts.append(
            f"C{_number(ax + bend)},{_number(ay)} {_number(bx - bend)},{_number(by)} {_number(bx)},{_number(by)}"
        )
    return " ".join(parts)


def _midpoint(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Middle of the middle segment: always in a gap between columns, never on a box."""
    middle = (len(points) - 2) // 2
    (ax, ay), (bx, by) = points[middle], points[middle + 1]
    # The curves leave and enter horizontally, so t=0.5 falls halfway in both directions.
    return (ax + bx) / 2, (ay + by) / 2


def _kind_class(kind: str) -> str:
    kind = kind.strip().lower()
    return kind if kind in _KIND_CLASSES else "other"


def _draw_node(node: PlacedNode) -> str:
    classes = ["node", f"kind-{_kind_class(node.kind)}"]
    if node.is_center:
        classes.append("center")
    if node.missing:
        classes.append("missing")
    caption = (_display_kind(node.kind) or "Entity") + (" (missing)" if node.missing else "")
    text_x = node.x + 10
    inner_width = node.width - 20
    tooltip = f"{node.label} ({node.ref})" if node.label.strip() else node.ref
    body = (
        f"<title>{_escape(tooltip)}</title>"
        f'<rect x="{_number(node.x)}" y="{_number(node.y)}" width="{_number(node.width)}" '
        f'height="{_number(node.height)}" rx="8" ry="8"/>'
        f'<text class="node-kind" x="{_number(text_x)}" y="{_number(node.y + 18)}">'
        f"{_escape(_fit(caption, inner_width, 10 * 1.1))}</text>"
        f'<text class="node-label" x="{_number(text_x)}" y="{_number(node.y + 37)}">'
        f"{_escape(_fit(node.label.strip() or node.ref, inner_width, 13))}</text>"
    )
    url = _safe_url(node.url)
    if url is not None:
        body = f'<a href="{_escape(url)}">{body}</a>'
    return f'<g class="{" ".join(classes)}" data-ref="{_escape(node.ref)}">{body}</g>'


def _draw_edge(edge: PlacedEdge, marker_id: str) -> str:
    label_x, label_y = edge.label_at
    label = _fit(edge.label, LAYER_GAP - 12, 10)
    return (
        f'<g class="edge" data-source="{_escape(edge.source)}" data-target="{_escape(edge.target)}">'
        f'<path d="{_path(edge.points)}" marker-end="url(#{marker_id})"/>'
        f'<text class="edge-label" x="{_number(label_x)}" y="{_number(label_y)}" '
        f'text-anchor="middle">{_escape(label)}</text></g>'
    )


def render_neighbourhood_svg(
    center: str,
    nodes: list[GraphNode],
    edges: list[GraphEdge],
    *,
    max_nodes: int = 60,
    omitted: int = 0,
) -> str:
    """The graph around ``center`` as an ``<svg>`` element, safe to inline in a page."""
    layout = layout_neighbourhood(center, nodes, edges, max_nodes=max_nodes, omitted=omitted)
    # Ids must not clash when several graphs share a page; derive them from the center.
    marker_id = "cw-arrow-" + hashlib.sha256(layout.center.encode("utf-8", "replace")).hexdigest()[:10]
    center_node = next(node for node in layout.nodes if node.is_center)
    title = f"Relations of {center_node.label.strip() or center_node.ref}"
    width, height = _number(layout.width), _number(layout.height)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cw-graph" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_escape(title)}">',
        f"<title>{_escape(title)}</title>",
        f"<style>{_stylesheet()}</style>",
        f'<defs><marker id="{marker_id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path class="arrowhead" d="M0,0 L10,5 L0,10 z"/></marker></defs>',
        '<g class="edges">',
        *(_draw_edge(edge, marker_id) for edge in layout.edges),
        "</g>",
        '<g class="nodes">',
        *(_draw_node(node) for node in layout.nodes),
        "</g>",
    ]
    if layout.omitted:
        noun = "entity" if layout.omitted == 1 else "entities"
        parts.append(
            f'<text class="graph-note" x="{_number(MARGIN)}" y="{_number(layout.height - MARGIN / 2 - 2)}">'
            f"{layout.omitted} more related {noun} not shown</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)

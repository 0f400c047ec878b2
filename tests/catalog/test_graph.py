"""The entity page's dependency graph: neighbourhood walk, layered layout and SVG output."""

import os
import random
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.graph import (
    GraphEdge,
    GraphError,
    GraphNode,
    layout_neighbourhood,
    neighbourhood,
    render_neighbourhood_svg,
)

SVG = "{http://www.w3.org/2000/svg}"
REPO_ROOT = Path(__file__).resolve().parents[2]
CENTER = "component:default/checkout"


def backstage_examples() -> Path:
    override = os.environ.get("CAUSEWAY_FIXTURES")
    base = Path(override) if override else (REPO_ROOT / ".." / "shared" / "fixtures" / "backstage").resolve()
    if (base / "backstage").is_dir():
        base = base / "backstage"
    return base / "packages" / "catalog-model" / "examples"


def node(ref, label=None, url=None, missing=False):
    kind = ref.split(":", 1)[0]
    return GraphNode(ref=ref, label=label or ref.rsplit("/", 1)[-1], kind=kind, url=url, missing=missing)


def nodes_for(refs, **overrides):
    return [overrides.get(ref) or node(ref) for ref in sorted(refs)]


def parse(svg):
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check it


def drawn_nodes(root):
    return {g.get("data-ref"): g for g in root.iter(f"{SVG}g") if "node" in (g.get("class") or "").split()}


def crossings(layers, edges):
    """Crossings between edges joining adjacent layers, for a given order of each layer."""
    where = {ref: (index, position) for index, layer in enumerate(layers) for position, ref in enumerate(layer)}
    segments = []
    for edge in edges:
        (layer_a, pos_a), (layer_b, pos_b) = where[edge.source], where[edge.target]
        if abs(layer_a - layer_b) == 1:
            left, right = (pos_a, pos_b) if layer_a < layer_b else (pos_b, pos_a)
            segments.append((min(layer_a, layer_b), left, right))
    count = 0
    for i, (layer_i, left_i, right_i) in enumerate(segments):
        for layer_j, left_j, right_j in segments[i + 1 :]:
            if layer_i == layer_j and (left_i - left_j) * (right_i - right_j) < 0:
                count += 1
    return count


def layer_of(layout, ref):
    return next(n.layer for n in layout.nodes if n.ref == ref)


# --- neighbourhood -----------------------------------------------------------------


RELATIONS = [
    (CENTER, "dependsOn", "resource:default/orders-db"),
    ("resource:default/orders-db", "dependencyOf", CENTER),
    (CENTER, "ownedBy", "group:default/team-a"),
    ("group:default/team-a", "ownerOf", CENTER),
    (CENTER, "providesApi", "api:default/checkout-api"),
    ("api:default/checkout-api", "apiConsumedBy", "component:default/web"),
    ("resource:default/orders-db", "dependsOn", "resource:default/disk"),
    ("component:default/unrelated", "dependsOn", "resource:default/elsewhere"),
]


def test_neighbourhood_at_depth_one_holds_only_direct_neighbours():
    refs, edges = neighbourhood(CENTER, RELATIONS, depth=1)

    assert refs == {CENTER, "resource:default/orders-db", "group:default/team-a", "api:default/checkout-api"}
    assert all(CENTER in (edge.source, edge.target) for edge in edges)


def test_neighbourhood_at_depth_two_reaches_neighbours_of_neighbours_in_both_directions():
    refs, edges = neighbourhood(CENTER, RELATIONS, depth=2)

    assert "resource:default/disk" in refs
    assert "component:default/web" in refs
    assert "component:default/unrelated" not in refs
    assert GraphEdge("resource:default/orders-db", "resource:default/disk", "dependsOn") in edges


def test_neighbourhood_at_depth_zero_is_the_center_alone():
    refs, edges = neighbourhood(CENTER, RELATIONS, depth=0)

    assert refs == {CENTER}
    assert edges == []


def test_neighbourhood_keeps_one_direction_of_each_reverse_pair():
    _, edges = neighbourhood(CENTER, RELATIONS, depth=1)

    assert sorted(edges, key=lambda e: e.label) == [
        GraphEdge(CENTER, "resource:default/orders-db", "dependsOn"),
        GraphEdge(CENTER, "group:default/team-a", "ownedBy"),
        GraphEdge(CENTER, "api:default/checkout-api", "providesApi"),
    ]


def test_neighbourhood_turns_a_lone_reverse_relation_into_its_forward_form():
    _, edges = neighbourhood("api:default/checkout-api", RELATIONS, depth=1)

    assert GraphEdge("component:default/web", "api:default/checkout-api", "consumesApi") in edges
    assert not any(edge.label in {"apiConsumedBy", "apiProvidedBy", "dependencyOf", "ownerOf"} for edge in edges)


@pytest.mark.parametrize(
    ("reverse", "forward"),
    [
        ("hasPart", "partOf"),
        ("ownerOf", "ownedBy"),
        ("hasMember", "memberOf"),
        ("parentOf", "childOf"),
        ("dependencyOf", "dependsOn"),
        ("apiProvidedBy", "providesApi"),
        ("apiConsumedBy", "consumesApi"),
    ],
)
def test_neighbourhood_maps_every_reverse_relation_to_its_forward_form(reverse, forward):
    _, edges = neighbourhood("x:default/a", [("x:default/a", reverse, "y:default/b")])

    assert edges == [GraphEdge("y:default/b", "x:default/a", forward)]


def test_neighbourhood_compares_refs_without_regard_to_case():
    refs, edges = neighbourhood(
        "Component:Default/Checkout",
        [
            ("component:default/CHECKOUT", "dependsOn", "Resource:default/DB"),
            ("resource:default/db", "dependencyOf", CENTER),
        ],
    )

    assert refs == {CENTER, "resource:default/db"}
    assert edges == [GraphEdge(CENTER, "resource:default/db", "dependsOn")]


def test_neighbourhood_keeps_custom_relation_types_and_ignores_self_loops():
    _, edges = neighbourhood(CENTER, [(CENTER, "deploysTo", "environment:default/prod"), (CENTER, "dependsOn", CENTER)])

    assert edges == [GraphEdge(CENTER, "environment:default/prod", "deploysTo")]


def test_neighbourhood_keeps_the_nearest_refs_when_capped_and_counts_the_rest():
    relations = [(CENTER, "dependsOn", f"resource:default/r{i:02}") for i in range(10)]
    relations += [("resource:default/r00", "dependsOn", "resource:default/far")]

    result = neighbourhood(CENTER, relations, depth=2, max_nodes=5)

    refs, edges = result
    assert len(refs) == 5
    assert CENTER in refs
    assert "resource:default/far" not in refs
    assert result.omitted == 7
    assert all(edge.source in refs and edge.target in refs for edge in edges)


@pytest.mark.parametrize(
    "relations",
    [
        [("a:default/x", "dependsOn")],
        [None],
        [("a:default/x", 3, "b:default/y")],
        [("a:default/x", "dependsOn", "")],
        "component:default/x",
        42,
    ],
)
def test_neighbourhood_rejects_malformed_relations_with_our_error(relations):
    with pytest.raises(GraphError):
        neighbourhood(CENTER, relations)


@pytest.mark.parametrize(("depth", "max_nodes"), [(-1, 60), ("2", 60), (1, 0), (1, 10**6), (1, True)])
def test_neighbourhood_rejects_bad_limits(depth, max_nodes):
    with pytest.raises(GraphError):
        neighbourhood(CENTER, RELATIONS, depth=depth, max_nodes=max_nodes)


# --- layout ------------------------------------------------------------------------


def typical_graph():
    relations = [
        (CENTER, "dependsOn", "resource:default/orders-db"),
        (CENTER, "providesApi", "api:default/checkout-api"),
        (CENTER, "consumesApi", "api:default/pricing"),
        (CENTER, "ownedBy", "group:default/team-a"),
        (CENTER, "partOf", "system:default/shop"),
        ("component:default/web", "dependsOn", CENTER),
    ]
    refs, edges = neighbourhood(CENTER, relations)
    return nodes_for(refs), edges


def test_layout_puts_dependencies_right_and_owners_and_dependents_left_of_the_center():
    nodes, edges = typical_graph()

    layout = layout_neighbourhood(CENTER, nodes, edges)

    center = layer_of(layout, CENTER)
    for ref in ("resource:default/orders-db", "api:default/checkout-api", "api:default/pricing"):
        assert layer_of(layout, ref) > center, ref
    for ref in ("group:default/team-a", "system:default/shop", "component:default/web"):
        assert layer_of(layout, ref) < center, ref
    xs = {n.ref: n.x for n in layout.nodes}
    assert xs["resource:default/orders-db"] > xs[CENTER] > xs["group:default/team-a"]


def test_layout_routes_each_edge_from_its_source_box_to_its_target_box():
    nodes, edges = typical_graph()

    layout = layout_neighbourhood(CENTER, nodes, edges)

    boxes = {n.ref: n for n in layout.nodes}
    for edge in layout.edges:
        (sx, sy), (tx, ty) = edge.points[0], edge.points[-1]
        source, target = boxes[edge.source], boxes[edge.target]
        assert sx in (source.x, source.x + source.width) and source.y <= sy <= source.y + source.height
        assert tx in (target.x, target.x + target.width) and target.y <= ty <= target.y + target.height


def test_layout_keeps_boxes_of_a_layer_apart_and_inside_the_drawing():
    relations = [(CENTER, "dependsOn", f"resource:default/r{i}") for i in range(7)]
    relations += [(f"component:default/c{i}", "dependsOn", CENTER) for i in range(4)]
    refs, edges = neighbourhood(CENTER, relations)

    layout = layout_neighbourhood(CENTER, nodes_for(refs), edges)

    for layer in {n.layer for n in layout.nodes}:
        boxes = sorted((n for n in layout.nodes if n.layer == layer), key=lambda n: n.y)
        for upper, lower in zip(boxes, boxes[1:], strict=False):
            assert lower.y >= upper.y + upper.height
    for n in layout.nodes:
        assert 0 <= n.x and n.x + n.width <= layout.width
        assert 0 <= n.y and n.y + n.height <= layout.height


def test_barycenter_ordering_removes_a_crossing_the_alphabetical_order_has():
    # hub -> x1 -> resource z and hub -> x2 -> resource a: sorted by name, x1/x2 over a/z cross.
    edges = [
        GraphEdge("component:default/hub", "component:default/x1", "dependsOn"),
        GraphEdge("component:default/hub", "component:default/x2", "dependsOn"),
        GraphEdge("component:default/x1", "resource:default/z", "dependsOn"),
        GraphEdge("component:default/x2", "resource:default/a", "dependsOn"),
    ]
    refs = {ref for edge in edges for ref in (edge.source, edge.target)}

    layout = layout_neighbourhood("component:default/hub", nodes_for(refs), edges)

    alphabetical = [sorted(layer) for layer in layout.layers]
    assert crossings(alphabetical, edges) == 1
    assert crossings(layout.layers, edges) == 0


def test_barycenter_ordering_reduces_crossings_over_three_layers():
    edges = [
        GraphEdge("component:default/m", f"component:default/{mid}", "dependsOn") for mid in ("a", "b", "c", "d")
    ] + [
        GraphEdge("component:default/a", "resource:default/w", "dependsOn"),
        GraphEdge("component:default/b", "resource:default/z", "dependsOn"),
        GraphEdge("component:default/c", "resource:default/x", "dependsOn"),
        GraphEdge("component:default/d", "resource:default/y", "dependsOn"),
        GraphEdge("component:default/b", "resource:default/y", "dependsOn"),
    ]
    refs = {ref for edge in edges for ref in (edge.source, edge.target)}

    layout = layout_neighbourhood("component:default/m", nodes_for(refs), edges)

    alphabetical = [sorted(layer) for layer in layout.layers]
    assert crossings(layout.layers, edges) < crossings(alphabetical, edges)


def run_with_deadline(function, seconds=10):
    outcome = {}

    def target():
        outcome["value"] = function()

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "layout did not finish"
    return outcome["value"]


def test_cycles_are_laid_out_without_hanging():
    edges = [
        GraphEdge("component:default/a", "component:default/b", "dependsOn"),
        GraphEdge("component:default/b", "component:default/c", "dependsOn"),
        GraphEdge("component:default/c", "component:default/a", "dependsOn"),
        GraphEdge("component:default/c", "component:default/b", "dependsOn"),
    ]
    refs = {ref for edge in edges for ref in (edge.source, edge.target)}

    layout = run_with_deadline(lambda: layout_neighbourhood("component:default/a", nodes_for(refs), edges))

    assert {n.ref for n in layout.nodes} == refs
    assert len(layout.edges) == 4
    for edge in layout.edges:
        assert layer_of(layout, edge.source) != layer_of(layout, edge.target)
    parse(run_with_deadline(lambda: render_neighbourhood_svg("component:default/a", nodes_for(refs), edges)))


def test_a_large_dense_graph_with_cycles_finishes_quickly():
    rng = random.Random(7)
    refs = [f"component:default/c{i:03}" for i in range(500)]
    labels = ["dependsOn", "partOf", "ownedBy"]
    edges = [GraphEdge(rng.choice(refs), rng.choice(refs), rng.choice(labels)) for _ in range(3000)]

    svg = run_with_deadline(lambda: render_neighbourhood_svg(refs[0], nodes_for(refs), edges, max_nodes=500))

    assert len(drawn_nodes(parse(svg))) == 500


def test_edges_spanning_several_layers_pass_through_waypoints():
    edges = [
        GraphEdge("component:default/a", "component:default/b", "dependsOn"),
        GraphEdge("component:default/b", "component:default/c", "dependsOn"),
        GraphEdge("component:default/a", "component:default/c", "dependsOn"),
    ]
    refs = {ref for edge in edges for ref in (edge.source, edge.target)}

    layout = layout_neighbourhood("component:default/a", nodes_for(refs), edges)

    long_edge = next(e for e in layout.edges if e.target == "component:default/c" and e.source.endswith("/a"))
    assert len(long_edge.points) == 3


# --- SVG ---------------------------------------------------------------------------


def test_the_svg_parses_and_its_size_matches_the_layout():
    nodes, edges = typical_graph()

    svg = render_neighbourhood_svg(CENTER, nodes, edges)

    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    width, height = float(root.get("width")), float(root.get("height"))
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    for rect in root.iter(f"{SVG}rect"):
        assert float(rect.get("x")) + float(rect.get("width")) <= width
        assert float(rect.get("y")) + float(rect.get("height")) <= height
    assert len(drawn_nodes(root)) == len(nodes)
    assert len(root.findall(f".//{SVG}marker")) == 1
    paths = [g.find(f"{SVG}path") for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]
    assert len(paths) == len(edges)
    assert all(p.get("d").startswith("M") and " C" in p.get("d") and p.get("marker-end") for p in paths)


def test_boxes_are_classed_by_kind_with_the_center_highlighted_and_missing_ones_dashed():
    nodes, edges = typical_graph()
    nodes = [node(n.ref, missing=True) if n.ref == "resource:default/orders-db" else n for n in nodes]
    nodes.append(node("location:default/odd"))

    root = parse(render_neighbourhood_svg(CENTER, nodes, edges))

    drawn = drawn_nodes(root)
    assert drawn[CENTER].get("class").split() == ["node", "kind-component", "center"]
    assert "missing" in drawn["resource:default/orders-db"].get("class").split()
    assert "kind-api" in drawn["api:default/checkout-api"].get("class")
    assert "kind-group" in drawn["group:default/team-a"].get("class")
    assert "kind-other" in drawn["location:default/odd"].get("class")
    style = root.find(f"{SVG}style").text
    assert "prefers-color-scheme: dark" in style
    assert ".cw-graph .missing rect{stroke-dasharray" in style


def test_each_box_shows_its_kind_above_its_label():
    nodes, edges = typical_graph()

    root = parse(render_neighbourhood_svg(CENTER, nodes, edges))

    texts = drawn_nodes(root)["api:default/checkout-api"].findall(f"{SVG}text")
    assert [t.get("class") for t in texts] == ["node-kind", "node-label"]
    assert texts[0].text == "API" and texts[1].text == "checkout-api"
    assert float(texts[0].get("y")) < float(texts[1].get("y"))


def test_edge_labels_name_the_relation():
    nodes, edges = typical_graph()

    root = parse(render_neighbourhood_svg(CENTER, nodes, edges))

    labels = sorted(t.text for t in root.iter(f"{SVG}text") if t.get("class") == "edge-label")
    assert labels == sorted(edge.label for edge in edges)


def test_edge_endpoints_without_a_node_are_drawn_as_missing_entities():
    edges = [GraphEdge(CENTER, "resource:default/ghost", "dependsOn")]

    drawn = drawn_nodes(parse(render_neighbourhood_svg(CENTER, [], edges)))

    assert set(drawn) == {CENTER, "resource:default/ghost"}
    assert "missing" in drawn["resource:default/ghost"].get("class")


def test_more_nodes_than_the_cap_are_cut_with_a_note_saying_how_many():
    relations = [(CENTER, "dependsOn", f"resource:default/r{i:02}") for i in range(12)]
    refs, edges = neighbourhood(CENTER, relations)

    root = parse(render_neighbourhood_svg(CENTER, nodes_for(refs), edges, max_nodes=5))

    drawn = drawn_nodes(root)
    assert len(drawn) == 5 and CENTER in drawn
    notes = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "graph-note"]
    assert notes == ["8 more related entities not shown"]
    drawn_edges = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]
    assert all(g.get("data-target") in drawn for g in drawn_edges)


def test_the_note_adds_entities_the_caller_already_left_out():
    result = neighbourhood(CENTER, [(CENTER, "dependsOn", f"resource:default/r{i}") for i in range(4)], max_nodes=3)

    root = parse(render_neighbourhood_svg(CENTER, nodes_for(result.refs), result.edges, omitted=result.omitted))

    assert [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "graph-note"] == [
        "2 more related entities not shown"
    ]


def test_no_note_when_everything_fits():
    nodes, edges = typical_graph()

    svg = render_neighbourhood_svg(CENTER, nodes, edges)

    assert "graph-note" not in svg.split("</style>", 1)[1]


def test_a_script_in_a_title_is_shown_as_text_never_as_markup():
    hostile = '<script>alert("x")</script>'
    nodes = [node(CENTER, label=hostile), node("resource:default/db", label="a & b <img src=x onerror=alert(1)>")]
    edges = [GraphEdge(CENTER, "resource:default/db", '<script>alert("edge")</script>')]

    svg = render_neighbourhood_svg(CENTER, nodes, edges)

    assert "<script" not in svg and "<img" not in svg
    root = parse(svg)
    assert not [el for el in root.iter() if el.tag in (f"{SVG}script", "script", f"{SVG}img", "img")]
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert f"{hostile} ({CENTER})" in titles
    assert f"Relations of {hostile}" in titles


def test_quotes_in_a_ref_cannot_break_out_of_an_attribute():
    ref = 'component:default/x" onload="alert(1)'
    edges = [GraphEdge(ref, "resource:default/'db'", "dependsOn")]

    root = parse(render_neighbourhood_svg(ref, [node(ref)], edges))

    drawn = drawn_nodes(root)
    assert set(drawn) == {ref.lower(), "resource:default/'db'"}
    assert not any(el.get("onload") for el in root.iter())
    edge = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "edge")
    assert edge.get("data-source") == ref.lower()


def test_characters_xml_forbids_are_dropped_so_the_svg_still_parses():
    nodes = [node(CENTER, label="bad\x00\x01\x1b[31mname\ufffe"), node("resource:default/db", label="\u202eevil")]
    edges = [GraphEdge(CENTER, "resource:default/db", "depends\x08On")]

    root = parse(render_neighbourhood_svg(CENTER, nodes, edges))

    label = drawn_nodes(root)[CENTER].findall(f"{SVG}text")[1].text
    assert label == "bad[31mname"
    assert "\u202e" not in ET.tostring(root, encoding="unicode")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "  javascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "\x01javascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>",
        "",
    ],
)
def test_dangerous_links_are_dropped_but_the_box_stays(url):
    nodes = [node(CENTER), node("resource:default/db", url=url)]

    svg = render_neighbourhood_svg(CENTER, nodes, [GraphEdge(CENTER, "resource:default/db", "dependsOn")])

    root = parse(svg)
    box = drawn_nodes(root)["resource:default/db"]
    assert box.find(f"{SVG}a") is None
    assert box.find(f"{SVG}rect") is not None
    assert "javascript" not in svg.lower() and "<script" not in svg


@pytest.mark.parametrize(
    "url",
    ["/catalog/default/resource/db", "https://example.com/db?a=1&b=2", "http://example.com", "db", "#section"],
)
def test_safe_links_wrap_the_box(url):
    nodes = [node(CENTER), node("resource:default/db", url=url)]

    root = parse(render_neighbourhood_svg(CENTER, nodes, [GraphEdge(CENTER, "resource:default/db", "dependsOn")]))

    link = drawn_nodes(root)["resource:default/db"].find(f"{SVG}a")
    assert link is not None and link.get("href") == url
    assert link.find(f"{SVG}rect") is not None


def test_long_labels_are_cut_with_an_ellipsis_and_kept_whole_in_the_tooltip():
    long_label = "a-really-long-component-name-that-cannot-possibly-fit-in-one-box"
    nodes = [node(CENTER, label=long_label)]

    root = parse(render_neighbourhood_svg(CENTER, nodes, []))

    box = drawn_nodes(root)[CENTER]
    shown = box.findall(f"{SVG}text")[1].text
    assert shown.endswith("…") and len(shown) < len(long_label)
    assert long_label.startswith(shown[:-1])
    assert box.find(f"{SVG}title").text == f"{long_label} ({CENTER})"


def test_wide_characters_are_cut_sooner_than_narrow_ones():
    nodes = [node(CENTER, label="漢" * 30), node("resource:default/db", label="i" * 30)]

    root = parse(render_neighbourhood_svg(CENTER, nodes, [GraphEdge(CENTER, "resource:default/db", "dependsOn")]))

    drawn = drawn_nodes(root)
    wide = drawn[CENTER].findall(f"{SVG}text")[1].text
    narrow = drawn["resource:default/db"].findall(f"{SVG}text")[1].text
    assert wide.endswith("…") and len(wide) < 16
    assert narrow == "i" * 30


def test_the_same_graph_given_in_any_order_draws_the_same_svg():
    nodes, edges = typical_graph()
    rng = random.Random(3)
    outputs = set()
    for _ in range(5):
        shuffled_nodes, shuffled_edges = list(nodes), list(edges)
        rng.shuffle(shuffled_nodes)
        rng.shuffle(shuffled_edges)
        outputs.add(render_neighbourhood_svg(CENTER, shuffled_nodes, shuffled_edges))

    assert len(outputs) == 1


def test_two_graphs_on_one_page_use_different_marker_ids():
    first = parse(render_neighbourhood_svg(CENTER, [], []))
    second = parse(render_neighbourhood_svg("component:default/other", [], []))

    assert first.find(f".//{SVG}marker").get("id") != second.find(f".//{SVG}marker").get("id")


def test_the_center_alone_is_drawn():
    root = parse(render_neighbourhood_svg(CENTER, [node(CENTER)], []))

    assert list(drawn_nodes(root)) == [CENTER]


@pytest.mark.parametrize(
    ("nodes", "edges", "max_nodes", "message"),
    [
        (["component:default/x"], [], 60, "node #0 must be a GraphNode"),
        ([], [("a:default/b", "c:default/d", "dependsOn")], 60, "edge #0 must be a GraphEdge"),
        ([GraphNode("component:default/x", None, "component", None)], [], 60, "label of node"),
        ([GraphNode("", "x", "component", None)], [], 60, "must not be empty"),
        ([], [], 0, "max_nodes"),
        ([], [], "60", "max_nodes"),
        ("component:default/x", [], 60, "nodes must be a list"),
    ],
)
def test_input_that_cannot_be_drawn_raises_our_error(nodes, edges, max_nodes, message):
    with pytest.raises(GraphError, match=message):
        render_neighbourhood_svg(CENTER, nodes, edges, max_nodes=max_nodes)


def test_the_module_does_not_import_django():
    import subprocess
    import sys

    code = "import sys, catalog.graph; print(any(m.split('.')[0] == 'django' for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)

    assert result.stdout.strip() == "False"


# --- Backstage's example catalog -------------------------------------------------------


def test_backstages_example_catalog_draws_a_components_neighbourhood():
    examples = backstage_examples()
    if not examples.is_dir():
        pytest.skip(f"Backstage fixtures not found at {examples}")
    from catalog.refs import InvalidEntityRef
    from catalog.relations import derive_relations

    rows = []
    for path in sorted(examples.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if not isinstance(document, dict) or "kind" not in document:
                continue
            try:
                rows += [relation.key for relation in derive_relations(document)]
            except InvalidEntityRef:
                continue
    center = "component:default/wayback-search"

    refs, edges = neighbourhood(center, rows, depth=2)

    assert GraphEdge(center, "api:default/wayback-archive", "consumesApi") in edges
    assert GraphEdge("component:default/wayback-archive", "api:default/wayback-archive", "providesApi") in edges
    layout = layout_neighbourhood(center, nodes_for(refs), edges)
    assert layer_of(layout, "api:default/wayback-archive") > layer_of(layout, center)
    root = parse(render_neighbourhood_svg(center, nodes_for(refs), edges))
    assert set(drawn_nodes(root)) == refs


# --- any text at all -------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.text(max_size=40), min_size=1, max_size=6),
    names=st.lists(st.text(min_size=1, max_size=20).filter(str.strip), min_size=1, max_size=6),
    url=st.one_of(st.none(), st.text(max_size=30), st.just("javascript:alert(1)")),
    relation=st.text(max_size=15),
)
def test_any_text_gives_a_well_formed_svg_without_active_content(labels, names, url, relation):
    refs = sorted({f"component:default/{name}" for name in names})
    nodes = [
        GraphNode(ref=ref, label=labels[i % len(labels)], kind=labels[-1], url=url) for i, ref in enumerate(refs)
    ]
    edges = [GraphEdge(refs[0], ref, relation) for ref in refs[1:]]

    root = parse(render_neighbourhood_svg(refs[0], nodes, edges))

    assert {el.tag for el in root.iter()} <= {
        f"{SVG}{tag}" for tag in ("svg", "title", "style", "defs", "marker", "path", "g", "a", "rect", "text")
    }
    for element in root.iter():
        assert not any(name.lower().startswith("on") for name in element.attrib)
    for link in root.iter(f"{SVG}a"):
        squeezed = "".join(link.get("href").split()).lower()
        assert not squeezed.startswith(("javascript:", "data:", "vbscript:"))

from functions.handlers.routes import match


def test_exact_route_beats_greedy() -> None:
    route = match("POST", "/v1/events/ingest")
    assert route is not None and route.function == "ingest"
    assert match("POST", "/v1/events/ingest/").function == "ingest"  # type: ignore[union-attr]


def test_other_event_paths_go_to_management() -> None:
    assert match("GET", "/v1/events/").function == "management"  # type: ignore[union-attr]
    assert match("GET", "/v1/events/ingest").function == "management"  # type: ignore[union-attr]


def test_longest_greedy_prefix_wins() -> None:
    assert match("GET", "/v1/customer-portal/meters/").function == "portal"  # type: ignore[union-attr]
    assert match("GET", "/portal/abc").function == "portal"  # type: ignore[union-attr]


def test_unknown_path_has_no_route() -> None:
    assert match("GET", "/nothing") is None

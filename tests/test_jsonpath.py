"""JSON paths as findings name them, and the line of each path in the pretty-printed body."""

from __future__ import annotations

import pytest

from core.lint.jsonpath import join_index, join_key, line_for, locate_paths, parent_path, path_sort_key, pretty_json


@pytest.mark.parametrize(("prefix", "key", "path"), [
    ("", "data", "data"), ("data[0]", "user", "data[0].user"), ("x", "a.b", 'x["a.b"]'), ("x", "a b", 'x["a b"]'),
])
def test_join_key(prefix: str, key: str, path: str) -> None:
    """Plain keys join with a dot; keys a dot path cannot carry are quoted in brackets."""
    assert join_key(prefix, key) == path


@pytest.mark.parametrize(("path", "parent"), [
    ("data[0].user.email", "data[0].user"), ("data[0]", "data"), ("data", ""),
])
def test_parent_path(path: str, parent: str) -> None:
    """The parent of a path drops its last key or index."""
    assert parent_path(path) == parent


def test_join_index_and_numeric_order() -> None:
    """Indexes join in brackets and sort as numbers (data[2] before data[10])."""
    assert join_index("data", 3) == "data[3]"
    paths = ["data[10].a", "data[2].b", "data[2].a", "event_source"]
    assert sorted(paths, key=path_sort_key) == ["data[2].a", "data[2].b", "data[10].a", "event_source"]


def test_every_path_has_its_line_and_unknown_paths_fall_back_to_the_parent() -> None:
    """locate_paths maps each path to its line in pretty_json; a missing key points at its nearest parent."""
    text = pretty_json({"data": [{"event": "X", "user": {"email": ["a"]}}]})
    located = locate_paths(text)
    lines = text.splitlines()
    assert located["data[0].user.email[0]"] == 7 and lines[6].strip() == '"a"'
    assert lines[located["data[0].event"] - 1].strip().startswith('"event"')
    assert line_for("data[0].user.email[0]", located) == 7
    assert line_for("data[0].nope", located) == located["data[0]"]

"""The class table's facts: data in classes.yaml, checked against the table's own names."""

import pytest

from simgen.classes import ClassTable, SemanticClass, class_table


def test_facts_name_known_classes_and_are_used_by_name():
    t = class_table()
    assert t.with_fact("person") == {"pedestrian", "child", "cyclist"}
    assert {"car", "bus", "truck"} <= t.with_fact("vehicle")
    assert "road" in t.with_fact("wets") and "car" not in t.with_fact("wets")
    for members in t.facts.values():
        assert members <= set(t.names)


def test_unknown_fact_and_unknown_member_are_errors():
    with pytest.raises(KeyError, match="unknown class fact 'flying'"):
        class_table().with_fact("flying")
    row = SemanticClass(1, "road", (1, 2, 3), False, 7, 0)
    with pytest.raises(ValueError, match="unknown classes"):
        ClassTable((row,), {"wets": frozenset({"road", "lava"})})

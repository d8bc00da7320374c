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


def test_class_groups_follow_the_facts_and_name_coco_classes():
    from simgen.classes import ClassGroup
    from simgen.gap.nanodet import COCO_CLASSES

    t = class_table()
    people, vehicles = t.group("people"), t.group("vehicles")
    assert set(people.classes) == t.with_fact("person") and set(vehicles.classes) == t.with_fact("vehicle")
    assert people.coco == ("person",) and set(vehicles.coco) >= {"car", "bus", "truck"}
    assert set(people.coco + vehicles.coco) <= set(COCO_CLASSES)
    assert t.group_of("child") == "people" and t.group_of("van") == "vehicles" and t.group_of("road") is None
    with pytest.raises(KeyError, match="unknown class group 'animals'"):
        t.group("animals")
    row = SemanticClass(1, "road", (1, 2, 3), False, 7, 0)
    with pytest.raises(ValueError, match="class groups"):
        ClassTable((row,), {}, (ClassGroup("a", ("road",)), ClassGroup("b", ("road",))))

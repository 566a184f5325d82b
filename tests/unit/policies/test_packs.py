"""Pack files: schema validation with clear errors, content hashes, hot reload."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.engine import PolicyEngine, ReloadStatus
from policies.packfile import (
    PackError,
    default_pack_path,
    load_pack_file,
    parse_pack,
    schema_document,
)

KINDS = ("safe-harbor", "disclosure", "alert-routing")


@pytest.mark.parametrize("kind", KINDS)
def test_default_packs_validate_and_their_schema_is_published(kind: str) -> None:
    pack = load_pack_file(default_pack_path(kind), kind=kind)
    assert pack.kind == kind and len(pack.content_hash) == 64 and pack.version == 1
    assert schema_document(kind)["properties"]["kind"] == {"const": kind}


def test_hash_ignores_comments_and_key_order_but_not_meaning() -> None:
    text = default_pack_path("alert-routing").read_text()
    base = parse_pack(text, source="a", kind="alert-routing").content_hash
    commented = "# another comment\n" + text.replace("version: 1\nname", "name")
    commented = commented.replace("name: nearmiss-default", "name: nearmiss-default\nversion: 1")
    assert parse_pack(commented, source="b", kind="alert-routing").content_hash == base
    changed = text.replace("min_severity: 5", "min_severity: 4")
    assert parse_pack(changed, source="c", kind="alert-routing").content_hash != base


def test_schema_errors_name_the_place_and_list_every_problem() -> None:
    text = default_pack_path("disclosure").read_text()
    broken = text.replace("embargo_days: 45", "embargo_days: -1").replace("labs: 2", "labs: two")
    with pytest.raises(PackError) as caught:
        parse_pack(broken, source="mine.yaml", kind="disclosure")
    message = str(caught.value)
    assert "file mine.yaml" in message and "2 problems" in message
    assert "minimum_labs.labs" in message and "rules[4]" in message


def test_wrong_kind_bad_yaml_duplicate_ids_and_bad_regex_are_refused() -> None:
    text = default_pack_path("alert-routing").read_text()
    with pytest.raises(PackError, match="kind 'alert-routing', but a 'disclosure'"):
        parse_pack(text, source="x", kind="disclosure")
    with pytest.raises(PackError, match="not valid YAML at line 2"):
        parse_pack("kind: alert-routing\nrules: [", source="x", kind="alert-routing")
    duplicate = text.replace("id: critical-any-domain", "id: child-safety-all-institutes")
    with pytest.raises(PackError, match="used twice"):
        parse_pack(duplicate, source="x", kind="alert-routing")
    harbor = default_pack_path("safe-harbor").read_text()
    engine_pack = harbor.replace("  patterns:\n", "  patterns:\n    - '(unclosed'\n", 1)
    from policies.safe_harbor import parse_safe_harbor

    with pytest.raises(PackError, match=r"antitrust.patterns\[0\].*does not compile"):
        parse_safe_harbor(engine_pack)
    lab_only = harbor.replace("scopes: [PUBLIC]", "scopes: [PUBLIC, LAB_ONLY]")
    with pytest.raises(PackError, match=r"destinations\.public\.scopes"):
        parse_pack(lab_only, source="x", kind="safe-harbor")


def test_reload_swaps_good_packs_and_keeps_the_old_one_on_error(tmp_path: Path) -> None:
    path = tmp_path / "alert-routing.yaml"
    original = default_pack_path("alert-routing").read_text()
    path.write_text(original)
    engine = PolicyEngine(alert_routing=path, reload_seconds=0)
    before = engine.current()
    assert {r.status for r in engine.reload()} == {ReloadStatus.UNCHANGED}

    path.write_text(original.replace("min_severity: 5", "min_severity: 4"))
    results = {r.kind: r for r in engine.reload()}
    assert results["alert-routing"].status is ReloadStatus.RELOADED
    edited = engine.current()
    assert edited.alert_routing.content_hash == results["alert-routing"].pack_hash
    assert edited.alert_routing.content_hash != before.alert_routing.content_hash
    assert before.alert_routing.content_hash != edited.alert_routing.content_hash
    assert edited.disclosure is before.disclosure  # untouched packs are the same objects

    path.write_text(original.replace("urgency: high", "urgency: whenever"))
    refused = {r.kind: r for r in engine.reload()}["alert-routing"]
    assert refused.status is ReloadStatus.REFUSED
    assert "urgency" in refused.error and str(path) in refused.error
    assert engine.current().alert_routing is edited.alert_routing
    again = {r.kind: r for r in engine.reload()}["alert-routing"]
    assert again.status is ReloadStatus.UNCHANGED and again.error == ""

    path.unlink()
    assert {r.kind: r for r in engine.reload()}["alert-routing"].status is ReloadStatus.REFUSED
    assert engine.current().alert_routing is edited.alert_routing


def test_a_broken_pack_stops_the_start(tmp_path: Path) -> None:
    path = tmp_path / "disclosure.yaml"
    path.write_text("kind: disclosure\nversion: 1\n")
    with pytest.raises(PackError, match="rules"):
        PolicyEngine(disclosure=path)

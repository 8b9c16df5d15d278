"""The preflight rules and the v1 -> v2 mapping: pure, no AWS."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from snapmigrate.errors import BadInput
from snapmigrate.model import Instance, Snapshot, SourceCluster, V1Scaling, V2Scaling
from snapmigrate.plan import facts
from snapmigrate.plan.discover import NameState, ZoneState
from snapmigrate.plan.options import PlanOptions, check_identifier, validate_options
from snapmigrate.plan.rules import Inputs, input_blockers
from snapmigrate.plan.spec import preflight
from snapmigrate.plan.versions import choose

TODAY = date(2026, 11, 24)


def v1_source(**kw: object) -> SourceCluster:
    base = dict(
        identifier="legacy",
        arn="arn:aws:rds:us-east-1:1:cluster:legacy",
        engine="aurora-postgresql",
        engine_version="13.12",
        engine_mode="serverless",
        status="available",
        endpoint="legacy.cluster-abc.us-east-1.rds.amazonaws.com",
        v1_scaling=V1Scaling(2, 4, True, 300),
        storage_encrypted=True,
        kms_key_id="key-1",
        availability_zones=("us-east-1a", "us-east-1b", "us-east-1c"),
        tags={"team": "data", "aws:cloudformation:stack-name": "x"},
    )
    base.update(kw)
    return SourceCluster(**base)  # type: ignore[arg-type]


def run(
    source: SourceCluster | None = None,
    snap: Snapshot | None = None,
    name: NameState | None = None,
    zone: ZoneState | None = None,
    **opts: object,
):
    source = source or v1_source()
    options = validate_options(PlanOptions(**{"target": "fresh", **opts}), source.identifier)  # type: ignore[arg-type]
    inp = Inputs(
        source=source,
        options=options,
        snapshot=snap,
        name_state=name or NameState(options.target, exists=False),
        zone_state=zone,
        catalog=None,
        facts_note=None,
        today=TODAY,
    )
    spec, findings = preflight(inp)
    return spec, {f.code: f for f in findings}, findings


def test_v1_mapping_keeps_range_and_cannot_pause_on_13_12():
    spec, by_code, _ = run()
    assert spec.scaling == V2Scaling(0.5, 4.0, None)
    assert by_code["acu-auto-pause"].level == "warn"
    assert spec.restore_version == spec.engine_version == "13.12"


def test_v1_auto_pause_maps_to_zero_where_supported():
    spec, by_code, _ = run(engine_version="13.15")
    assert spec.scaling == V2Scaling(0.0, 4.0, 300)
    assert by_code["acu-auto-pause"].level == "ok"


def test_v1_max_384_is_capped_with_a_warning():
    spec, by_code, _ = run(source=v1_source(v1_scaling=V1Scaling(8, 384)), engine_version="13.13")
    assert spec.scaling.max_capacity == 256
    assert by_code["acu-max-capped"].level == "warn"


def test_older_minor_caps_at_128():
    spec, by_code, _ = run(source=v1_source(v1_scaling=V1Scaling(8, 192)))
    assert spec.scaling.max_capacity == 128
    assert "128" in by_code["acu-max-capped"].message


def test_explicit_zero_min_on_a_version_without_auto_pause_is_bad_input():
    _, by_code, findings = run(min_acu=0)
    assert by_code["acu-input"].level == "block"
    assert input_blockers(findings)


def test_explicit_max_above_version_ceiling_is_bad_input():
    _, by_code, _ = run(max_acu=200)
    assert by_code["acu-input"].level == "block"


def test_explicit_min_above_derived_max_raises_max():
    spec, _, _ = run(min_acu=8)
    assert (spec.scaling.min_capacity, spec.scaling.max_capacity) == (8, 8)


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ({"target": "Bad_Name"}, "letters, digits and hyphens"),
        ({"target": "9lives"}, "start with a letter"),
        ({"target": "a--b"}, "two hyphens"),
        ({"target": "ends-"}, "end with a hyphen"),
        ({"target": "x" * 64}, "1 to 63"),
        ({"target": "y" * 60}, "at most 53"),
        ({"target": "legacy"}, "must differ from the source"),
        ({"min_acu": 0.3}, "multiple of 0.5"),
        ({"max_acu": 300}, "0 to 256"),
        ({"max_acu": 0.5}, "at least 1 ACU"),
        ({"min_acu": 8, "max_acu": 4}, "above --max-acu"),
        ({"readers": 16}, "0 to 15"),
        ({"readers": -1}, "0 to 15"),
        ({"seconds_until_auto_pause": 60}, "300 to 86400"),
        ({"engine_version": "latest"}, "not a version"),
        ({"cutover": "dns"}, "needs --dns-zone-id and --dns-name"),
        ({"dns_zone_id": "Z1"}, "only apply with --cutover dns"),
        ({"tags": {"snapmigrate:run-id": "x"}}, "reserved"),
        ({"engine_lifecycle_support": "forever"}, "must be one of"),
    ],
)
def test_bad_options_are_rejected_with_a_message(opts, message):
    with pytest.raises(BadInput, match=message):
        validate_options(PlanOptions(**{"target": "fresh", **opts}), "legacy")


def test_rename_cutover_needs_room_for_the_old_name():
    with pytest.raises(BadInput, match="63"):
        validate_options(PlanOptions(target="fresh", cutover="rename"), "s" * 55)


def test_identifier_is_lowercased_like_rds_does():
    assert check_identifier("MyCluster") == "mycluster"


def test_mysql_source_is_blocked_as_not_supported_yet():
    src = v1_source(engine="aurora-mysql", engine_version="5.7.mysql_aurora.2.11.2")
    _, by_code, findings = run(source=src)
    assert by_code["source-engine"].level == "block"
    assert "not supported yet" in by_code["source-engine"].message
    assert not input_blockers(findings)


def test_unavailable_source_blocks_unless_a_snapshot_is_reused():
    _, by_code, _ = run(source=v1_source(status="modifying"))
    assert by_code["source-status"].level == "block"
    snap = Snapshot("s1", "arn", "legacy", "aurora-postgresql", "13.12", "available")
    _, by_code, _ = run(source=v1_source(status="modifying"), snap=snap, snapshot="s1")
    assert by_code["source-status"].level == "warn"


def test_pg11_plans_a_major_upgrade_with_a_bridge_instance():
    spec, by_code, _ = run(source=v1_source(engine_version="11.21"))
    assert spec.restore_version == "11.21"
    assert facts.major(spec.engine_version) > 11
    assert by_code["major-upgrade"].level == "warn"
    roles = [i.role for i in spec.instances]
    assert roles[0] == "bridge" and "writer" in roles
    assert spec.instances[0].instance_class != "db.serverless"


def test_requested_version_older_than_snapshot_is_bad_input():
    _, by_code, findings = run(engine_version="13.9")
    assert by_code["engine-version-input"].level == "block"
    assert input_blockers(findings)


def test_requested_major_upgrade():
    choice = choose("aurora-postgresql", "13.12", "16.3", None, TODAY)
    assert (choice.restore_version, choice.version, choice.problem) == ("13.12", "16.3", None)
    assert choice.major_upgrade


def test_version_without_v2_blocks():
    _spec, by_code, _ = run(source=v1_source(engine_version="13.4"), engine_version="13.5")
    assert by_code["engine-version"].level == "block"


def test_extended_support_warns_past_standard_support_and_names_the_opt_out():
    # 13 left standard support on 2026-02-28
    _, by_code, _ = run()
    f = by_code["extended-support"]
    assert f.level == "warn" and facts.EXTENDED_SUPPORT_DISABLED in f.message
    assert "enrolled in RDS Extended Support" in f.message
    # opted out: the restore still lands on 13.12; RDS upgrades later, maybe not at all
    _, by_code, _ = run(engine_lifecycle_support=facts.EXTENDED_SUPPORT_DISABLED)
    f = by_code["extended-support"]
    assert f.level == "warn" and "the restore completes on 13.12" in f.message
    assert "later maintenance window" in f.message and "pre-upgrade checks" in f.message
    # an upgrade to a supported major: billed only while it runs 13, unless opted out
    _, by_code, _ = run(engine_version="16.3")
    f = by_code["extended-support"]
    assert f.level == "warn" and "while it runs 13 (until the upgrade to 16.3" in f.message
    opted_out = facts.EXTENDED_SUPPORT_DISABLED
    _, by_code, _ = run(engine_version="16.3", engine_lifecycle_support=opted_out)
    f = by_code["extended-support"]
    assert f.level == "ok" and "no Extended Support charge" in f.message
    # a major still in standard support
    _, by_code, _ = run(source=v1_source(engine_version="16.3"))
    assert by_code["extended-support"].level == "ok"


def test_unencrypted_source_warns_and_kms_key_re_encrypts():
    src = v1_source(storage_encrypted=False, engine_mode="provisioned", v1_scaling=None)
    _, by_code, _ = run(source=src)
    assert by_code["encryption"].level == "warn"
    spec, by_code, _ = run(source=src, kms_key_id="alias/new")
    assert by_code["encryption"].level == "ok" and spec.kms_key_id == "alias/new"


def test_data_api_is_re_enabled_or_warned():
    spec, by_code, _ = run(source=v1_source(http_endpoint_enabled=True))
    assert spec.enable_http_endpoint and by_code["data-api"].level == "ok"
    spec, by_code, _ = run(source=v1_source(http_endpoint_enabled=True, engine_version="13.9"))
    assert not spec.enable_http_endpoint and by_code["data-api"].level == "warn"


def test_v1_log_exports_become_explicit():
    spec, by_code, _ = run()
    assert spec.cloudwatch_logs_exports == ("postgresql",)
    assert by_code["log-exports"].level == "warn"


def test_custom_parameter_group_is_carried_only_within_its_family():
    src = v1_source(parameter_group="tuned", parameter_group_family="aurora-postgresql13")
    spec, by_code, _ = run(source=src)
    assert spec.parameter_group == "tuned" and by_code["parameter-group"].level == "ok"
    spec, by_code, _ = run(source=src, engine_version="16.3")
    assert spec.parameter_group is None and by_code["parameter-group"].level == "warn"


def test_target_name_taken_by_someone_else_is_bad_input_but_ours_is_resumable():
    _, by_code, findings = run(name=NameState("fresh", exists=True))
    assert by_code["target-name"].level == "block" and input_blockers(findings)
    _, by_code, _ = run(name=NameState("fresh", exists=True, run_id="abcd1234", role="target"))
    assert (
        by_code["target-name"].level == "warn"
        and "--resume abcd1234" in by_code["target-name"].message
    )


def test_snapshot_checks():
    good = Snapshot("s1", "arn", "legacy", "aurora-postgresql", "13.12", "available")
    _, by_code, _ = run(snap=good, snapshot="s1")
    assert by_code["snapshot"].level == "ok"
    _, by_code, findings = run(snap=None, snapshot="missing")
    assert by_code["snapshot"].level == "block" and input_blockers(findings)
    _, by_code, _ = run(snap=dataclasses.replace(good, status="creating"), snapshot="s1")
    assert by_code["snapshot-status"].level == "block"
    _, by_code, _ = run(snap=dataclasses.replace(good, engine="aurora-mysql"), snapshot="s1")
    assert by_code["snapshot"].level == "block"
    _, by_code, _ = run(
        snap=dataclasses.replace(good, engine_version="13.15"),
        snapshot="s1",
        engine_version="13.12",
    )
    assert by_code["engine-version-input"].level == "block"


def test_readers_spread_over_zones_writer_first():
    spec, by_code, _ = run(readers=2)
    azs = [i.availability_zone for i in spec.instances]
    assert len(set(azs)) == 3 and spec.instances[0].role == "writer"
    assert all(i.instance_class == "db.serverless" for i in spec.instances)
    spec, by_code, _ = run(readers=3)
    assert by_code["readers"].level == "warn"


def test_dns_cutover_needs_an_existing_zone_and_record():
    opts = {"cutover": "dns", "dns_zone_id": "Z1", "dns_name": "db.example.com"}
    _, by_code, findings = run(zone=ZoneState("Z1", exists=False), **opts)
    assert by_code["cutover"].level == "block" and input_blockers(findings)
    _, by_code, _ = run(zone=ZoneState("Z1", exists=True, name="example.com."), **opts)
    assert by_code["cutover"].level == "block"
    endpoint = "legacy.cluster-abc.us-east-1.rds.amazonaws.com"
    zone = ZoneState(
        "Z1", exists=True, name="example.com.", record_exists=True, record_value=endpoint
    )
    spec, by_code, _ = run(zone=zone, **opts)
    assert by_code["cutover"].level == "ok" and spec.cutover.record_name == "db.example.com"


def test_tags_carried_without_reserved_ones():
    spec, _, _ = run(tags={"ticket": "CHG-1"})
    assert dict(spec.tags) == {"team": "data", "ticket": "CHG-1"}


def test_provisioned_source_sized_from_instance_memory():
    src = v1_source(
        engine_mode="provisioned",
        v1_scaling=None,
        instances=(Instance("p-1", "db.r6g.xlarge", "us-east-1b", True, "available"),),
    )
    spec, _by_code, _ = run(source=src)
    assert spec.scaling.max_capacity == 16
    assert spec.instances[0].availability_zone == "us-east-1b"


def test_already_v2_source_is_a_clone():
    src = v1_source(
        engine_mode="provisioned",
        v1_scaling=None,
        v2_scaling=V2Scaling(0, 8, 600),
        engine_version="16.3",
    )
    spec, by_code, _ = run(source=src)
    assert by_code["source-mode"].level == "warn"
    assert spec.scaling == V2Scaling(0, 8, 600)


def test_performance_insights_needs_two_acu():
    _, by_code, _ = run(performance_insights=True)
    assert by_code["performance-insights"].level == "warn"


def test_carried_settings_and_the_managed_password_are_reported():
    src = v1_source(
        deletion_protection=True,
        backup_retention_period=14,
        iam_auth=True,
        master_user_secret_arn="arn:secret",
    )
    spec, by_code, _ = run(source=src)
    carried = by_code["carried-settings"].message
    assert (
        "deletion protection on" in carried
        and "backups 14 day(s)" in carried
        and "IAM auth on" in carried
    )
    assert (spec.deletion_protection, spec.backup_retention_period, spec.iam_auth) == (
        True,
        14,
        True,
    )
    password = by_code["master-password"]
    assert password.level == "warn" and spec.manage_master_user_password
    assert "NEW password in a NEW secret" in password.message and "arn:secret" in password.message
    _, by_code, _ = run()
    assert "master-password" not in by_code

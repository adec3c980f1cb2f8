"""The replicator's rules against an in-memory copy: newest version wins, tombstones keep
deletes, unmappable records are parked and the rest of the batch goes on."""

from __future__ import annotations

import pytest
from crm_replicator import replication
from crm_replicator.replication import Purge, Upsert


def replicate(records, model, dead_letters):
    return replication.replicate_batch(records, model=model, dead_letters=dead_letters)


def test_writes_replicate_in_order_and_the_newest_version_stays(
    model, dead_letters, make_record, live_image
):
    tally = replicate([make_record("INSERT", "acme", new=live_image(1))], model, dead_letters)
    assert (tally.applied, tally.stale) == (1, 0)
    replicate(
        [make_record("MODIFY", "acme", new=live_image(2, name="Acme 2"))], model, dead_letters
    )
    assert model.rows["acme"].version == 2
    assert model.rows["acme"].name == "Acme 2"
    assert model.rows["acme"].updated_at == "2026-11-23T10:00:02.000Z"


def test_an_older_or_repeated_version_changes_nothing(model, dead_letters, make_record, live_image):
    replicate([make_record("MODIFY", "acme", new=live_image(3, name="new"))], model, dead_letters)
    older = replicate(
        [make_record("MODIFY", "acme", new=live_image(2, name="old"))], model, dead_letters
    )
    again = replicate(
        [make_record("MODIFY", "acme", new=live_image(3, name="new"))], model, dead_letters
    )
    assert (older.applied, older.stale) == (0, 1)
    assert (again.applied, again.stale) == (0, 1)
    assert (model.rows["acme"].version, model.rows["acme"].name) == (3, "new")


def test_a_tombstone_replicates_as_a_deleted_row_an_older_write_cannot_revive(
    model, dead_letters, make_record, live_image, tombstone_image
):
    replicate([make_record("INSERT", "acme", new=live_image(1))], model, dead_letters)
    replicate(
        [make_record("MODIFY", "acme", old=live_image(1), new=tombstone_image(2))],
        model,
        dead_letters,
    )
    assert model.rows["acme"] == Upsert("acme", 2, "2026-11-23T10:00:02.000Z", deleted=True)
    late = replicate([make_record("INSERT", "acme", new=live_image(1))], model, dead_letters)
    assert late.stale == 1
    assert model.rows["acme"].deleted
    revived = replicate([make_record("MODIFY", "acme", new=live_image(3))], model, dead_letters)
    assert revived.applied == 1
    assert not model.rows["acme"].deleted


def test_a_remove_purges_the_row_unless_a_newer_version_replicated(
    model, dead_letters, make_record, live_image, tombstone_image
):
    replicate([make_record("MODIFY", "acme", new=tombstone_image(4))], model, dead_letters)
    # TTL expired the tombstone: the item went at version 4.
    tally = replicate([make_record("REMOVE", "acme", old=tombstone_image(4))], model, dead_letters)
    assert tally.purged == 1
    assert "acme" not in model.rows
    replicate([make_record("MODIFY", "beta", new=live_image(5))], model, dead_letters)
    old_remove = replicate([make_record("REMOVE", "beta", old=live_image(4))], model, dead_letters)
    assert (old_remove.purged, old_remove.stale) == (0, 1)
    assert model.rows["beta"].version == 5


def test_a_remove_of_an_item_without_a_usable_version_purges_whatever_is_there(
    make_record, live_image
):
    record = make_record("REMOVE", "acme", old={**live_image(1), "version": "seven"})
    assert replication.change_of(record) == Purge("acme", None)


def test_only_the_last_record_of_an_account_in_a_batch_is_written(
    model, dead_letters, make_record, live_image
):
    records = [make_record("MODIFY", "acme", new=live_image(v, name=f"v{v}")) for v in (1, 2, 3)]
    records.insert(1, make_record("INSERT", "beta", new=live_image(1)))
    tally = replicate(records, model, dead_letters)
    assert (tally.records, tally.applied, tally.superseded) == (4, 2, 2)
    assert model.statements == 2
    assert model.rows["acme"].name == "v3"
    assert model.migrations == 1


def test_an_unmappable_record_is_parked_with_the_reason_and_the_batch_goes_on(
    model, dead_letters, make_record, live_image
):
    poison = make_record("INSERT", "bad", new={**live_image(1), "version": "seven"})
    good = make_record("INSERT", "good", new=live_image(1))
    tally = replicate([poison, good], model, dead_letters)
    assert (tally.parked, tally.applied) == (1, 1)
    assert "good" in model.rows
    assert "bad" not in model.rows
    [parked] = dead_letters.parked
    assert parked.record == poison
    assert "attribute 'version' must be a whole number" in parked.reason
    assert tally.parked_reasons == [parked.reason]


def test_a_database_failure_fails_the_whole_batch(model, dead_letters, make_record, live_image):
    model.fail_for.add("beta")
    records = [
        make_record("INSERT", "acme", new=live_image(1)),
        make_record("INSERT", "beta", new=live_image(1)),
    ]
    with pytest.raises(ConnectionError):
        replicate(records, model, dead_letters)
    # The retry applies acme again: stale, harmless.
    model.fail_for.clear()
    tally = replicate(records, model, dead_letters)
    assert (tally.applied, tally.stale) == (1, 1)


def test_an_empty_batch_touches_nothing(model, dead_letters):
    assert replicate([], model, dead_letters).records == 0
    assert model.migrations == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"version": 0}, "'version' must be a whole number of 1 or more"),
        ({"version": "2"}, "'version'"),
        ({"updated_at": "yesterday"}, "'updated_at' must be an ISO 8601 instant"),
        ({"updated_at": "2026-11-23T10:00:00"}, "'updated_at'"),
        ({"plan": "gold"}, "'plan' must be one of"),
        ({"name": ""}, "'name' must be a non-empty string"),
        ({"email": 5}, "'email'"),
    ],
)
def test_what_makes_a_record_unmappable(make_record, live_image, change, reason):
    record = make_record("MODIFY", "acme", new={**live_image(1), **change})
    with pytest.raises(replication.Unmappable, match=reason):
        replication.change_of(record)


def test_records_without_a_key_images_or_a_known_event_are_unmappable(make_record, live_image):
    no_key = make_record("INSERT", "acme", new=live_image(1))
    no_key["dynamodb"]["Keys"] = {"id": {"N": "1"}}
    no_new = make_record("INSERT", "acme")
    no_old = make_record("REMOVE", "acme")
    odd = make_record("UPSERT", "acme", new=live_image(1))
    not_dynamodb_json = make_record("INSERT", "acme", new=live_image(1))
    not_dynamodb_json["dynamodb"]["NewImage"]["name"] = {"WHAT": "x"}
    for record, reason in [
        (no_key, "no string key"),
        (no_new, "without NewImage"),
        (no_old, "without OldImage"),
        (odd, "unknown eventName"),
        (not_dynamodb_json, "not DynamoDB JSON"),
    ]:
        with pytest.raises(replication.Unmappable, match=reason):
            replication.change_of(record)


def test_keyless_records_are_kept_when_coalescing(make_record, live_image):
    keyless = make_record("INSERT", "x", new=live_image(1))
    keyless["dynamodb"]["Keys"] = {}
    records = [keyless, make_record("INSERT", "a", new=live_image(1)), keyless]
    assert replication.latest_per_account(records) == records

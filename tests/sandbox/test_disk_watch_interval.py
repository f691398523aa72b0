"""How often the disk watchdog measures (watch.next_disk_check_in): every measurement is an
exec in the container plus an engine walk of its layer, so far below the limit it waits until
even the fastest writer assumed could just have reached the limit — never longer than a few base
intervals, and never past what a fill near the limit needs."""

from __future__ import annotations

from tasks.sandbox.watch import (
    ASSUMED_WRITE_MB_PER_SECOND,
    MAX_INTERVAL_FACTOR,
    DiskUse,
    first_disk_check_in,
    next_disk_check_in,
)


def test_far_below_the_limit_the_next_check_waits_for_the_room_left_to_fill():
    room_mb = 5000
    wait = next_disk_check_in(DiskUse(mb=10240 - room_mb), limit_mb=10240, base=2.0, spent=0.05)
    assert wait == room_mb / ASSUMED_WRITE_MB_PER_SECOND
    assert wait > 2.0


def test_a_writer_at_the_assumed_speed_cannot_pass_the_limit_before_the_next_check():
    for used in (0, 1000, 6000, 9000, 10000):
        wait = next_disk_check_in(DiskUse(mb=used), limit_mb=10240, base=2.0, spent=0.0)
        assert used + wait * ASSUMED_WRITE_MB_PER_SECOND <= 10240 or wait == 2.0


def test_near_the_limit_the_base_interval_stays():
    assert next_disk_check_in(DiskUse(mb=290), limit_mb=300, base=0.5, spent=0.01) == 0.5


def test_a_huge_limit_is_still_checked_every_few_intervals():
    wait = next_disk_check_in(DiskUse(mb=0), limit_mb=10_000_000, base=2.0, spent=0.0)
    assert wait == 2.0 * MAX_INTERVAL_FACTOR


def test_a_missing_figure_or_a_hidden_folder_keeps_the_base_interval():
    assert next_disk_check_in(DiskUse(mb=None), limit_mb=10240, base=2.0, spent=0.0) == 2.0
    hidden = DiskUse(mb=10, hidden="its owner cannot read /workspace/x")
    assert next_disk_check_in(hidden, limit_mb=10240, base=2.0, spent=0.0) == 2.0


def test_slow_measurements_take_at_most_a_fifth_of_the_time():
    assert next_disk_check_in(DiskUse(mb=None), limit_mb=10240, base=2.0, spent=1.5) == 6.0


def test_a_new_containers_first_check_starts_from_the_checkout_copied_in():
    """Nothing has run in a new container: the checkout's size is its first figure."""
    copied = 5 * 1024 * 1024
    wait = first_disk_check_in(copied, limit_mb=10240, base=2.0)
    assert wait == (10240 - 5) / ASSUMED_WRITE_MB_PER_SECOND
    # A checkout near a small limit: the base interval, as after a measurement near it.
    assert first_disk_check_in(190 * 1024 * 1024, limit_mb=200, base=2.0) == 2.0
    # A part of a MB counts as a whole one (never later than a measurement would say).
    assert first_disk_check_in(1, limit_mb=10240, base=2.0) == (
        next_disk_check_in(DiskUse(mb=1), limit_mb=10240, base=2.0, spent=0.0)
    )

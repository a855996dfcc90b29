"""The journal of the edge's switches, replayed onto its last routes file."""
from __future__ import annotations

from proxy.route_journal import RouteJournal

ROUTES = "a.example live - g1 10.0.0.1:80\nb.example live - g2 10.0.0.2:80\nverify:c.example t0k3n\n"


def test_it_replays_switches_and_removals_in_order(tmp_path):
    journal = RouteJournal.in_directory(tmp_path)
    journal.create(gid=None)
    journal.record([], ["a.example live - g1 10.0.0.9:80"])
    journal.record(["b.example", "verify:c.example"], ["d.example starting - g4"])
    journal.record([], ["b.example stopped - g2"])

    replayed = sorted(journal.replayed(ROUTES).splitlines())  # the order of lines does not matter

    assert replayed == ["a.example live - g1 10.0.0.9:80", "b.example stopped - g2", "d.example starting - g4"]


def test_writing_the_routes_file_empties_it(tmp_path):
    journal = RouteJournal.in_directory(tmp_path)
    journal.create(gid=None)
    journal.record([], ["a.example live - g1 10.0.0.9:80"])

    journal.clear()

    assert journal.replayed(ROUTES) == ROUTES

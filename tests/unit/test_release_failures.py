"""What a failed release command tells the customer stays (issue 15): a first release has no
previous release to keep serving; a later one does, unless the site is stopped."""
from __future__ import annotations

import pytest

from hosting.models import Host, Instance
from sites.models import Site
from sites.pipeline.release import what_stays
from sites.services import create_site

pytestmark = pytest.mark.django_db


def test_a_first_release_does_not_promise_a_previous_one(world):
    site = create_site(world["org"], "fresh")
    said = what_stays(site)
    assert "first release" in said and "nothing is serving yet" in said
    assert "previous release" not in said


def test_a_later_release_names_the_one_that_keeps_serving(world):
    site = Site.objects.get(pk=world["site"].pk)
    instance = Instance.objects.create(host=Host.objects.get(name="h1"), name="site-shop-v1-d1", site_label="shop",
                                       release_label="v1", state="running")
    Site.objects.filter(pk=site.pk).update(current_instance=instance)
    assert what_stays(site) == "the previous release (v1) keeps serving."


def test_a_stopped_site_is_not_said_to_serve(world):
    said = what_stays(Site.objects.get(pk=world["site"].pk))  # v1, but no running instance
    assert said.startswith("the site stays on v1") and "keeps serving" not in said

"""The Logs tab: the running container's last lines (through sites.runtime_logs, faked here at
that interface), the lines selector, following by polling, and an empty state when nothing runs."""
from __future__ import annotations

import pytest

from hosting.engine_errors import DockerUnavailable
from hosting.models import Host, Instance
from sites import runtime_logs
from sites.models import Site
from tests.unit.portal_client import signed_in

pytestmark = pytest.mark.django_db

PAGE = "/sites/shop/logs/"
TAIL = "/sites/shop/logs/tail/"


@pytest.fixture
def running(world, monkeypatch):
    """shop runs a container whose log says which tail was asked for; the calls are kept."""
    instance = Instance.objects.create(host=Host.objects.get(name="h1"), name="site-shop-v1-d1", site_label="shop",
                                       release_label="v1", state="running")
    Site.objects.filter(pk=world["site"].pk).update(current_instance=instance)
    calls: list[int] = []

    def tail(site, lines, process=""):
        calls.append(lines)
        return [f"GET / 200 <b>line {n} of {lines}</b>" for n in range(3)]

    monkeypatch.setattr(runtime_logs, "tail", tail)
    return calls


@pytest.mark.parametrize("url", [PAGE, TAIL])
def test_the_outsider_gets_404(world, url):
    assert signed_in("outsider").get(url).status_code == 404


@pytest.mark.parametrize("url", [PAGE, TAIL])
def test_the_page_takes_only_get(world, url):
    assert signed_in("owner").post(url).status_code == 405


def test_a_viewer_reads_the_last_lines_escaped(running):
    page = signed_in("viewer").get(PAGE).content.decode()
    assert "GET / 200 &lt;b&gt;line 2 of 100&lt;/b&gt;" in page and "<b>line" not in page
    assert running == [100]


@pytest.mark.parametrize("asked, used", [("500", 500), ("1000", 1000), ("99999", 100), ("-5", 100), ("x", 100)])
def test_the_lines_selector_asks_for_that_many_and_no_other(running, asked, used):
    page = signed_in("owner").get(PAGE, {"lines": asked}).content.decode()
    assert running == [used] and f'<option value="{used}" selected>' in page


def test_following_polls_the_tail_every_two_seconds(running):
    page = signed_in("developer").get(PAGE, {"lines": "500", "follow": "1"}).content.decode()
    assert 'hx-trigger="every 2s"' in page and 'hx-get="/sites/shop/logs/tail/?lines=500"' in page
    assert 'hx-target="#log-output"' in page and "Stop following" in page


def test_not_following_does_not_poll(running):
    page = signed_in("developer").get(PAGE).content.decode()
    assert "every 2s" not in page and "follow=1" in page


def test_the_tail_is_the_pre_alone(running):
    response = signed_in("viewer").get(TAIL, {"lines": "1000"})
    body = response.content.decode()
    assert body.startswith('<pre id="log-output"') and "line 0 of 1000" in body and "<html" not in body


def test_with_nothing_running_it_says_so(world, monkeypatch):
    monkeypatch.setattr(runtime_logs, "tail", lambda site, lines: [])
    page = signed_in("owner").get(PAGE).content.decode()
    assert "Nothing is running." in page and "<pre" not in page


@pytest.fixture
def host_silent(world, monkeypatch):
    """shop runs on h1, whose agent does not answer (the relay's connection is refused)."""
    instance = Instance.objects.create(host=Host.objects.get(name="h1"), name="site-shop-v1-d1", site_label="shop",
                                       release_label="v1", state="running")
    Site.objects.filter(pk=world["site"].pk).update(current_instance=instance)
    asked: list[tuple[str, str]] = []

    class Silent:
        def __init__(self, host, container: str, timeout: int) -> None:
            asked.append((host.name, container))

        def logs(self, name, tail=100):
            raise DockerUnavailable("The Docker daemon does not answer: connection refused")

        state = logs

        def close(self) -> None:
            pass

    monkeypatch.setattr(runtime_logs, "instance_engine", Silent)
    return asked


def test_when_the_sites_host_does_not_answer_the_page_says_the_logs_are_unavailable(host_silent):
    response = signed_in("viewer").get(TAIL)

    body = response.content.decode()
    assert response.status_code == 200
    assert "Logs unavailable." in body and "host h1, which runs this site, does not answer" in body
    assert host_silent == [("h1", "site-shop-v1-d1")]


@pytest.mark.parametrize("follow", ["", "1"])
def test_when_the_sites_host_does_not_answer_the_api_says_so_with_503(world, host_silent, follow):
    response = world["client"]("viewer").get("/api/v1/sites/shop/logs/", {"follow": follow})

    assert response.status_code == 503
    assert "host h1, which runs this site, does not answer" in response.json()["detail"]


@pytest.fixture
def stopped(world, monkeypatch):
    Site.objects.filter(pk=world["site"].pk).update(desired_state=Site.DesiredState.STOPPED, current_instance=None)
    monkeypatch.setattr(runtime_logs, "instance_engine", None)  # nothing may be asked of a host


def test_a_stopped_sites_logs_page_says_it_is_stopped(stopped):
    for url in (PAGE, TAIL):
        page = signed_in("viewer").get(url).content.decode()
        assert "The site is stopped: start it to see new output." in page and "<pre" not in page


def test_a_stopped_sites_logs_say_it_is_stopped_in_the_api(world, stopped):
    api = world["client"]("viewer")
    body = api.get("/api/v1/sites/shop/logs/").json()
    assert body == {"lines": [], "note": "The site is stopped: start it to see new output."}

    followed = api.get("/api/v1/sites/shop/logs/", {"follow": "1"})
    assert followed.status_code == 200 and followed.content.decode() == "The site is stopped: start it to see new output.\n"


def test_a_running_sites_logs_carry_no_note(world, running):
    body = world["client"]("viewer").get("/api/v1/sites/shop/logs/").json()
    assert body["note"] == "" and len(body["lines"]) == 3

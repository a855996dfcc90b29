"""The browser tests' own tools can fail: the accessibility check, the mailbox, the TOTP codes and
the screenshots are checked here, without the platform, so the journey's passes mean something."""
from __future__ import annotations

import pytest
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.filebased import EmailBackend

from tests.e2e.support.mailbox import Mailbox
from tests.e2e.support.totp import totp

INACCESSIBLE = """<!doctype html><html lang="en"><head><title>Bad</title></head><body><main>
<h1>Bad page</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" id="no-alt">
<p id="faint" style="color:#bbb;background:#fff">Hard to read</p></main></body></html>"""

ACCESSIBLE = """<!doctype html><html lang="en"><head><title>Good</title></head><body><main>
<h1>Good page</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="A dot">
<label for="n">Name</label><input id="n" name="n"></main></body></html>"""


def test_it_fails_a_page_with_serious_accessibility_violations_listing_each(page, axe_check):
    page.set_content(INACCESSIBLE)

    with pytest.raises(pytest.fail.Exception) as failure:
        axe_check(page, "the bad page")

    message = str(failure.value)
    assert "image-alt (critical)" in message and '["#no-alt"]' in message
    assert "color-contrast (serious)" in message and '["#faint"]' in message


def test_it_passes_an_accessible_page(page, axe_check):
    page.set_content(ACCESSIBLE)

    axe_check(page, "the good page")


def test_it_numbers_screenshots_in_step_order(page, shot, test_artifacts):
    page.set_content(ACCESSIBLE)

    first, second = shot(page, "Signed up!"), shot(page, "site created")

    assert [first.name, second.name] == ["01-signed-up.png", "02-site-created.png"]
    assert first.parent == test_artifacts and first.stat().st_size > 0


def test_it_finds_the_newest_mail_to_an_address_and_its_link(tmp_path):
    backend = EmailBackend(file_path=str(tmp_path))
    messages = [EmailMultiAlternatives(f"Mail {n}", f"Hello.\n\nConfirm: http://portal.test/confirm/{n}/.\n",
                                       "platform@example.com", [to]) for n, to in ((1, "a@example.com"), (2, "b@example.com"), (3, "A@example.com"))]
    messages[2].attach_alternative("<p><a href='http://portal.test/confirm/3/'>Confirm</a></p>", "text/html")
    backend.send_messages(messages)
    mailbox = Mailbox(tmp_path)

    newest = mailbox.newest_to("a@example.com")

    assert newest.subject == "Mail 3" and newest.link("/confirm/") == "http://portal.test/confirm/3/"
    assert mailbox.count_to("a@example.com") == 2
    with pytest.raises(AssertionError, match="no mail to b@example.com"):
        mailbox.newest_to("b@example.com", after=1, timeout=0)


@pytest.mark.parametrize(("at", "code"), [(59, "287082"), (1111111109, "081804"), (1234567890, "005924"), (20000000000, "353130")])
def test_it_computes_the_rfc_6238_sha1_codes(at, code):
    # RFC 6238's appendix B, SHA-1, secret "12345678901234567890", the last 6 of its 8 digits.
    assert totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", at=at) == code

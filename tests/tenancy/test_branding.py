"""Portal branding on recipients' pages: a checked PNG/JPEG logo and an accent colour, set
by portal admins; the landing, shared and unsubscribe pages carry them."""

import io

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from engagement.models import EngagementEvent
from tests.engagement.factories import make_send
from thankview.branding import LOGO_MAX_BYTES, accent_text_color
from thankview.models import Portal

URL = "/alpha/settings/"


def image_file(fmt="PNG", size=(120, 40), name="logo.png"):
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, fmt)
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/png")


def refused(client, data, text):
    r = client.post(URL, data)
    assert r.status_code == 400, r.status_code
    assert text in r.content.decode()


def test_admin_sets_a_logo_and_colour_that_the_landing_page_carries(client_admin_a, portal_a):
    r = client_admin_a.post(URL, {"logo": image_file(), "accent_color": "#0A7D3B"})
    assert r.status_code == 302 and r["Location"] == URL
    portal_a.refresh_from_db()
    assert portal_a.accent_color == "#0a7d3b" and portal_a.logo.name.endswith(".png")

    logo = Client().get(f"/brand/{portal_a.pk}/logo")
    assert (logo.status_code, logo["Content-Type"], logo["X-Content-Type-Options"]) == (200, "image/png", "nosniff")
    assert b"".join(logo.streaming_content).startswith(b"\x89PNG\r\n\x1a\n")
    theme = Client().get(f"/brand/{portal_a.pk}/theme.css")
    assert theme.content.decode() == ":root { --accent: #0a7d3b; --accent-fg: #ffffff; }\n"

    send = make_send(portal_a)
    html = Client().get(f"/v/{send.token}/").content.decode()
    assert '<span class="recipient-portal">Alpha University</span>' in html
    assert f'<img class="recipient-logo" src="/brand/{portal_a.pk}/logo?v=' in html
    assert f'href="/brand/{portal_a.pk}/theme.css?v=' in html
    assert ' style="' not in html and "onfocus" not in html  # nothing that needs 'unsafe-inline'


def test_a_new_logo_replaces_the_old_file_and_remove_clears_it(client_admin_a, portal_a):
    client_admin_a.post(URL, {"logo": image_file("JPEG", name="a.jpg"), "accent_color": ""})
    portal_a.refresh_from_db()
    first = portal_a.logo.name
    assert first.endswith(".jpg") and portal_a.logo.storage.exists(first)
    client_admin_a.post(URL, {"logo": image_file(), "accent_color": ""})
    portal_a.refresh_from_db()
    assert portal_a.logo.name != first and not portal_a.logo.storage.exists(first)
    client_admin_a.post(URL, {"remove_logo": "on", "accent_color": ""})
    portal_a.refresh_from_db()
    assert not portal_a.logo
    assert Client().get(f"/brand/{portal_a.pk}/logo").status_code == 404
    assert Client().get(f"/brand/{portal_a.pk}/theme.css").content == b""


def test_bad_logos_and_colours_are_refused_and_nothing_is_saved(client_admin_a, portal_a):
    svg = SimpleUploadedFile("logo.svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    refused(client_admin_a, {"logo": svg}, "SVG logos are not accepted. Upload the logo as a PNG or JPEG.")
    fake = SimpleUploadedFile("logo.png", b"\x89PNG\r\n\x1a\n" + b"not really" * 20)
    refused(client_admin_a, {"logo": fake}, "That file is not a PNG or JPEG image we can read.")
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    refused(client_admin_a, {"logo": SimpleUploadedFile("l.gif", gif.getvalue())}, "Upload the logo as a PNG or JPEG.")
    big = SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * LOGO_MAX_BYTES)
    refused(client_admin_a, {"logo": big}, "The logo is larger than 512 KB. Upload a smaller PNG or JPEG.")
    for colour in ["red", "#12345", "#1234567", "12345g", "#gggggg", "#fff"]:
        refused(client_admin_a, {"accent_color": colour}, "Enter the colour as # and six hex digits, e.g. #4b3fd8.")
    portal_a.refresh_from_db()
    assert (portal_a.logo.name, portal_a.accent_color) == ("", "")


def test_only_the_portals_admins_change_branding(client_staff_a, client_b, portal_a):
    assert client_staff_a.get(URL).status_code == 403
    assert client_staff_a.post(URL, {"accent_color": "#000000"}).status_code == 403
    assert client_b.get(URL).status_code == 404
    assert Portal.objects.get(pk=portal_a.pk).accent_color == ""


@pytest.mark.parametrize(
    ("accent", "text"), [("#ffffff", "#000000"), ("#000000", "#ffffff"), ("#ffff00", "#000000"), ("#4b3fd8", "#ffffff")]
)
def test_button_text_is_whichever_of_black_or_white_reads_better(accent, text):
    assert accent_text_color(accent) == text


def test_share_offers_the_campaigns_page_link_never_the_video_file(portal_a):
    send = make_send(portal_a)
    client = Client()
    r = client.post(f"/v/{send.token}/share/")
    assert r.status_code == 302
    html = client.get(r["Location"]).content.decode()
    share = html[html.index('id="share"') : html.index("</section>", html.index('id="share"'))]
    link = share.split('id="share-link" type="url" readonly value="')[1].split('"')[0]
    assert link.startswith(f"{settings.SITE_URL}/w/") and send.token not in link
    assert send.campaign.video_url not in share
    assert ">Copy link</button>" in share and 'href="mailto:?subject=' in share

    events_before = EngagementEvent.objects.count()
    shared = client.get(link.removeprefix(settings.SITE_URL))
    page = shared.content.decode()
    assert shared.status_code == 200 and send.campaign.name in page and "A video from Alpha University" in page
    assert "Unsubscribe" not in page and "Reply" not in page and send.token not in page
    assert EngagementEvent.objects.count() == events_before  # a shared view is nobody's engagement
    assert Client().get("/w/1:forged/").status_code == 404

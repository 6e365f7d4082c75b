"""The campaign page's engagement funnel: sent → opened → clicked → watched → finished →
CTA, computed in SQL in a constant number of queries, agreeing with send_state per send."""

import random
from datetime import timedelta

from django.utils import timezone

from contacts.models import Contact
from engagement import charts, selectors, services
from engagement.models import EngagementEvent, EventType, Send
from engagement.selectors import FUNNEL_STEPS, campaign_funnel
from engagement.state import send_state
from tests.engagement.factories import make_campaign, make_send

STATE_FLAG = {  # funnel step -> SendState attribute
    "opened": "opened",
    "clicked": "clicked",
    "started_watching": "started_watching",
    "finished_watching": "finished_watching",
    "cta_clicked": "cta_clicked",
}
# Event sets that probe the rules: implied opens, finished without started, only a reply,
# only a bounce, duplicates, nothing at all.
EDGE_CASES = [
    [],
    ["opened"],
    ["opened", "opened", "opened"],
    ["clicked"],
    ["finished_watching"],
    ["cta_clicked"],
    ["text_reply"],
    ["video_reply"],
    ["downloaded"],
    ["shared"],
    ["bounced"],
    ["unsubscribed"],
    ["bounced", "unsubscribed"],
    ["opened", "clicked", "started_watching", "finished_watching", "cta_clicked"],
    ["started_watching", "started_watching"],
]


def _sends(portal, campaign, n):
    contacts = Contact.objects.bulk_create(
        [Contact(portal=portal, email=f"f{campaign.pk}-{i}@x.org", email_normalized=f"f{campaign.pk}-{i}@x.org") for i in range(n)]
    )
    return Send.objects.bulk_create([Send(campaign=campaign, contact=c) for c in contacts])


def _mixed_data_set(portal, campaign, n_random=250, seed=20261126):
    """EDGE_CASES plus random event mixes (duplicates included); returns {send: [events]}."""
    rng = random.Random(seed)
    sends = _sends(portal, campaign, len(EDGE_CASES) + n_random)
    now = timezone.now()
    plan = {}
    for index, send in enumerate(sends):
        if index < len(EDGE_CASES):
            types = EDGE_CASES[index]
        else:
            types = rng.choices(list(EventType.values), k=rng.randint(0, 7))
        plan[send.pk] = [
            EngagementEvent(
                send=send, type=t, occurred_at=now - timedelta(minutes=rng.randint(0, 5)), received_at=now,
                data={"text": "hi"} if t == "text_reply" else {"url": "https://v.example/r"} if t == "video_reply" else {},
            )
            for t in types
        ]
    EngagementEvent.objects.bulk_create([e for events in plan.values() for e in events])
    return plan


def test_funnel_agrees_with_send_state_for_every_send_on_a_mixed_data_set(portal_a):
    campaign = make_campaign(portal_a)
    plan = _mixed_data_set(portal_a, campaign)
    other = make_campaign(portal_a)  # another campaign's engagement must not leak in
    _mixed_data_set(portal_a, other, n_random=40, seed=7)

    stored = selectors.events_for_sends(plan)
    states = {send_id: send_state(events) for send_id, events in stored.items()}
    expected = {"sends": len(plan)}
    for key, flag in STATE_FLAG.items():
        expected[key] = sum(1 for state in states.values() if getattr(state, flag))

    funnel = campaign_funnel(campaign=campaign)
    assert [step.key for step in funnel] == [key for key, _ in FUNNEL_STEPS]
    assert {step.key: step.count for step in funnel} == expected
    # The data set really exercises the rules (implied opens exist, some steps are not monotone).
    assert expected["opened"] > sum(1 for events in plan.values() if any(e.type == "opened" for e in events))
    assert 0 < expected["cta_clicked"] < expected["opened"] < expected["sends"]
    for step in funnel:
        assert step.percent == round(100 * step.count / len(plan), 1)


def test_funnel_costs_the_same_queries_at_any_size(portal_a, django_assert_num_queries):
    small, large = make_campaign(portal_a), make_campaign(portal_a)
    _mixed_data_set(portal_a, small, n_random=3)
    _mixed_data_set(portal_a, large, n_random=400)
    for campaign in (small, large):
        with django_assert_num_queries(2):  # one aggregate over the events, one count of sends
            campaign_funnel(campaign=campaign)


def test_empty_campaign_has_zero_percentages(portal_a, client_staff_a):
    campaign = make_campaign(portal_a)
    assert [(s.count, s.percent) for s in campaign_funnel(campaign=campaign)] == [(0, 0.0)] * 6
    html = client_staff_a.get(f"/alpha/campaigns/{campaign.pk}/").content.decode()
    assert "The funnel appears once the campaign has been sent." in html and "<svg" not in html


def test_campaign_page_draws_the_funnel_as_accessible_svg(portal_a, client_staff_a):
    campaign = make_campaign(portal_a)
    for steps in (["opened"], ["clicked", "started_watching", "finished_watching", "cta_clicked"], ["finished_watching"], []):
        send = make_send(portal_a, campaign=campaign)
        for type_ in steps:
            services.event_record(send=send, type=type_)
    html = client_staff_a.get(f"/alpha/campaigns/{campaign.pk}/").content.decode()
    assert '<svg role="img" aria-labelledby="funnel-title funnel-desc"' in html
    assert (
        '<desc id="funnel-desc">Sent: 4 (100 % of sends); Opened: 3 (75 % of sends); Clicked: 1 (25 % of sends); '
        "Watched: 2 (50 % of sends); Finished: 2 (50 % of sends); CTA: 1 (25 % of sends).</desc>"
    ) in html
    assert ">3 · 75 %</text>" in html and ">1 · 25 %</text>" in html
    assert "<script" not in html.split('<figure class="funnel">')[1].split("</figure>")[0]  # no JS chart


def test_bars_are_proportional_to_the_sends_and_a_small_step_stays_visible():
    steps = [selectors.FunnelStep("sends", "Sent", 100_000, 100.0), selectors.FunnelStep("opened", "Opened", 50_000, 50.0),
             selectors.FunnelStep("cta_clicked", "CTA", 3, 0.0), selectors.FunnelStep("clicked", "Clicked", 0, 0.0)]
    rows = charts.funnel_rows(steps)
    span = charts.FUNNEL_WIDTH - charts.FUNNEL_LABEL_WIDTH - charts.FUNNEL_VALUE_WIDTH
    assert [r.bar_width for r in rows] == [span, span / 2, 2, 0]
    assert [r.y for r in rows] == [0, charts.FUNNEL_ROW, 2 * charts.FUNNEL_ROW, 3 * charts.FUNNEL_ROW]
    assert all(r.text_x > charts.FUNNEL_LABEL_WIDTH + r.bar_width for r in rows)

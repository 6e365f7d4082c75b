"""The sync engine's read path (one query per batch) and the demo data."""

from datetime import timedelta

from django.utils import timezone

from contacts import demo as contacts_demo
from engagement import demo, services
from engagement.models import EngagementEvent, EventType, Send
from engagement.selectors import events_for_sends, send_states
from tests.engagement.factories import make_campaign, make_send


def test_events_for_a_batch_of_sends_are_read_in_one_query(portal_a, django_assert_num_queries):
    campaign = make_campaign(portal_a)
    sends = [make_send(portal_a, campaign=campaign) for _ in range(5)]
    for send in sends[:3]:
        services.event_record(send=send, type="opened")
        services.event_record(send=send, type="clicked")
    ids = [s.pk for s in sends]
    with django_assert_num_queries(1):
        events = events_for_sends(ids)
    assert set(events) == set(ids)
    assert [len(events[i]) for i in ids] == [2, 2, 2, 0, 0]
    with django_assert_num_queries(1):
        states = send_states(ids)
    assert [states[i].clicked for i in ids] == [True, True, True, False, False]


def test_cutoff_is_applied_to_received_at(portal_a):
    send = make_send(portal_a)
    services.event_record(send=send, type="opened")
    cutoff = timezone.now()
    later = services.event_record(send=send, type="cta_clicked", occurred_at=cutoff - timedelta(hours=1))
    assert later.received_at > cutoff
    state = send_states([send.pk], cutoff=cutoff)[send.pk]
    assert state.opened and not state.cta_clicked
    assert [e.type for e in events_for_sends([send.pk], cutoff=cutoff)[send.pk]] == ["opened"]


def test_demo_has_engagement_of_every_type_some_of_it_fresh(portal_a, admin_a):
    contacts_demo.seed(portal=portal_a, user=admin_a)
    summary = demo.seed(portal=portal_a, user=admin_a)
    assert "sends" in summary
    assert set(EngagementEvent.objects.values_list("type", flat=True)) == set(EventType.values)
    recent = EngagementEvent.objects.filter(received_at__gte=timezone.now() - timedelta(minutes=30))
    assert recent.exists()
    assert Send.objects.filter(campaign__portal=portal_a, sent_at__lt=timezone.now() - timedelta(days=1)).exists()
    assert demo.seed(portal=portal_a, user=admin_a) == "campaign already present"  # safe to re-run

"""The engagement state of a send: every rule of engagement.state, pinned."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from engagement.models import EventType
from engagement.state import SendState, send_state

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Ev:
    type: str
    occurred_at: datetime = T0
    received_at: datetime = T0
    data: dict = field(default_factory=dict)


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def test_no_events_is_the_empty_state():
    assert send_state([]) == SendState()
    assert send_state([]).text_reply_255 is None


def test_each_event_type_sets_its_flag():
    for flag in ["opened", "clicked", "started_watching", "finished_watching", "cta_clicked",
                 "downloaded", "shared", "bounced", "unsubscribed"]:
        state = send_state([Ev(flag)])
        assert getattr(state, flag) is True, flag


def test_bounce_and_unsubscribe_do_not_imply_an_open():
    state = send_state([Ev("bounced"), Ev("unsubscribed", at(1))])
    assert state.bounced and state.unsubscribed
    assert not state.opened


def test_every_later_step_implies_the_open_even_when_the_pixel_was_blocked():
    for type_, data in [("clicked", {}), ("started_watching", {}), ("finished_watching", {}),
                        ("cta_clicked", {}), ("downloaded", {}), ("shared", {}),
                        ("text_reply", {"text": "hi"}), ("video_reply", {"url": "https://v.example/1"})]:
        assert send_state([Ev(type_, data=data)]).opened is True, type_


def test_finished_implies_started_but_views_count_only_starts():
    state = send_state([Ev("finished_watching")])
    assert state.started_watching is True
    assert state.views == 0


def test_views_count_each_distinct_start():
    state = send_state([Ev("started_watching", at(1)), Ev("started_watching", at(2)), Ev("started_watching", at(3))])
    assert state.views == 3


def test_an_event_delivered_twice_counts_once():
    first = Ev("started_watching", at(1), received_at=at(1))
    again = Ev("started_watching", at(1), received_at=at(9))  # same type, time and data
    assert send_state([first, again]).views == 1
    reply = Ev("text_reply", at(2), data={"text": "hi", "lang": "en"})
    reply_again = Ev("text_reply", at(2), received_at=at(5), data={"lang": "en", "text": "hi"})
    assert send_state([reply, reply_again, first]).views == 1


def test_same_type_at_the_same_time_with_different_data_are_two_events():
    a = Ev("text_reply", at(1), data={"text": "a"})
    b = Ev("text_reply", at(1), data={"text": "b"})
    assert send_state([a, b]).text_reply == "b"  # tie on time: deterministic choice


def test_latest_text_reply_is_kept_in_full_and_cut_to_255_for_salesforce():
    long_text = "x" * 300
    state = send_state([
        Ev("text_reply", at(1), data={"text": "first"}),
        Ev("text_reply", at(5), data={"text": long_text}),
        Ev("text_reply", at(3), data={"text": "middle"}),
    ])
    assert state.text_reply == long_text
    assert state.text_reply_255 == "x" * 255


def test_latest_video_reply_url():
    state = send_state([
        Ev("video_reply", at(4), data={"url": "https://v.example/late"}),
        Ev("video_reply", at(2), data={"url": "https://v.example/early"}),
    ])
    assert state.video_reply == "https://v.example/late"


def test_last_activity_is_the_latest_occurrence():
    state = send_state([Ev("opened", at(1)), Ev("clicked", at(7)), Ev("bounced", at(3))])
    assert state.last_activity_at == at(7)


def test_cutoff_ignores_events_received_after_it_even_if_they_occurred_before():
    late = Ev("cta_clicked", occurred_at=at(1), received_at=at(60))
    on_time = Ev("opened", occurred_at=at(0), received_at=at(10))
    state = send_state([on_time, late], cutoff=at(30))
    assert state.opened and not state.cta_clicked
    assert state.last_activity_at == at(0)
    assert send_state([on_time, late], cutoff=at(10)).opened  # received exactly at the cut-off counts
    assert send_state([on_time, late]).cta_clicked  # no cut-off: everything


def test_state_as_dict_has_every_salesforce_input():
    d = send_state([Ev("text_reply", data={"text": "t"})]).as_dict()
    assert set(d) >= {"opened", "views", "text_reply", "text_reply_255", "video_reply", "last_activity_at"}


# --- Order independence ------------------------------------------------------------------

_times = st.integers(min_value=0, max_value=20).map(at)
_events = st.builds(
    lambda type_, occurred, received_delta, text, url: Ev(
        type_,
        occurred,
        occurred + timedelta(minutes=received_delta),
        {"text": text} if type_ == "text_reply" else {"url": url} if type_ == "video_reply" else {},
    ),
    st.sampled_from(EventType.values),
    _times,
    st.integers(min_value=0, max_value=30),
    st.sampled_from(["thanks", "great video", "y" * 260]),
    st.sampled_from(["https://v.example/a", "https://v.example/b"]),
)


@settings(max_examples=300, deadline=None)
@given(events=st.lists(_events, max_size=25), data=st.data(), cutoff=st.none() | _times)
def test_state_does_not_depend_on_the_order_events_arrive_in(events, data, cutoff):
    shuffled = data.draw(st.permutations(events))
    doubled = data.draw(st.permutations(events + events[: len(events) // 2]))  # redeliveries
    expected = send_state(events, cutoff=cutoff)
    assert send_state(shuffled, cutoff=cutoff) == expected
    assert send_state(doubled, cutoff=cutoff) == expected

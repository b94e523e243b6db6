from datetime import timedelta

import pytest
from flask_login import user_accessed
from sqlalchemy import func, select

from surveyapp.clock import today
from surveyapp.instrument import load_default
from surveyapp.models import (
    Answer,
    Comment,
    Draft,
    Participation,
    PendingResponse,
    Response,
    Round,
    RoundStatus,
)
from surveyapp.rounds.operations import close_round

from ..sealed import drafts, pending_responses
from .conftest import set_round

STEP1 = load_default().capabilities[0].statements
FIRST, SECOND = STEP1[0].key, STEP1[1].key


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_link_opens_the_welcome_page_with_the_thresholds(client, open_round):
    page = client.get(f"/s/{open_round.token}").get_data(as_text=True)
    assert "Autumn check-in" in page
    assert "groups of at least 5 people" in page
    assert "Start the survey" in page


def test_unknown_and_malformed_links_get_the_same_page(client, open_round):
    wrong = client.get("/s/" + "A" * 32)
    garbage = client.get("/s/not-a-token")
    assert wrong.status_code == garbage.status_code == 404
    assert wrong.get_data(as_text=True) == garbage.get_data(as_text=True)
    assert "This link does not work" in wrong.get_data(as_text=True)


def test_step_shows_each_statement_as_a_fieldset_with_five_labelled_options(client, open_round):
    page = client.get(f"/s/{open_round.token}/step/1").get_data(as_text=True)
    assert "Step 1 of 8" in page
    assert page.count("<fieldset") == 4
    assert page.count('type="radio"') == 20
    assert "Strongly disagree" in page and "Neither agree nor disagree" in page


def test_save_and_continue_keeps_answers_and_moves_on(client, db, open_round):
    response = client.post(f"/s/{open_round.token}/step/1",
                           data={f"s:{FIRST}": "4", f"s:{SECOND}": "2", "action": "next"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/s/{open_round.token}/step/2")
    [draft] = drafts()
    assert draft["answers"] == {FIRST: 4, SECOND: 2}
    assert draft["step"] == 2


def test_coming_back_to_the_link_resumes_where_you_stopped(client, open_round):
    client.post(f"/s/{open_round.token}/step/1", data={f"s:{FIRST}": "5", "action": "next"})
    client.post(f"/s/{open_round.token}/step/2", data={"action": "next"})
    response = client.get(f"/s/{open_round.token}")
    assert response.headers["Location"].endswith("/step/3")
    page = client.get(f"/s/{open_round.token}/step/1").get_data(as_text=True)
    assert f'name="s:{FIRST}" value="5" checked' in page


def test_answers_need_no_session_or_csrf_token(app, open_round):
    # A brand-new client (no cookie) posting hours later must not lose anything.
    fresh = app.test_client()
    response = fresh.post(f"/s/{open_round.token}/step/1", data={f"s:{FIRST}": "3"})
    assert response.status_code == 302


def test_autosave_answers_204_and_keeps_the_step(client, db, open_round):
    client.post(f"/s/{open_round.token}/step/2", data={"action": "next"})
    response = client.post(f"/s/{open_round.token}/step/1", data={f"s:{FIRST}": "1"},
                           headers={"X-Autosave": "1"})
    assert response.status_code == 204
    [draft] = drafts()
    assert (draft["answers"], draft["step"]) == ({FIRST: 1}, 3)


@pytest.mark.parametrize("value", ["0", "6", "abc", "4.5", "-1"])
def test_an_answer_off_the_scale_is_refused_and_nothing_saved(client, db, open_round, value):
    response = client.post(f"/s/{open_round.token}/step/1", data={f"s:{FIRST}": value})
    assert response.status_code == 400
    assert "could not be read" in response.get_data(as_text=True)
    assert count(db, Draft) == 0


def test_a_comment_over_2000_characters_is_refused(client, db, open_round):
    response = client.post(f"/s/{open_round.token}/step/8", data={"q:improve": "x" * 2001})
    assert response.status_code == 400
    assert count(db, Draft) == 0


def test_review_lists_unanswered_statements_with_links_back(client, open_round):
    client.post(f"/s/{open_round.token}/step/1", data={f"s:{FIRST}": "4", "action": "next"})
    page = client.get(f"/s/{open_round.token}/review").get_data(as_text=True)
    assert "27 statements have no answer yet" in page
    assert f'/s/{open_round.token}/step/1#s-{SECOND}' in page


def test_submit_stores_an_anonymous_response_and_deletes_the_draft(client, db, open_round):
    client.post(f"/s/{open_round.token}/step/1",
                data={f"s:{FIRST}": "4", f"s:{SECOND}": "5", "action": "next"})
    client.post(f"/s/{open_round.token}/step/8",
                data={"q:improve": "  Fewer hand-offs between teams.  ", "action": "next"})
    response = client.post(f"/s/{open_round.token}/submit")
    assert response.headers["Location"].endswith(f"/s/{open_round.token}/thanks")
    [pending] = pending_responses()
    assert pending == {
        "team_id": open_round.team_ids["care"], "location": "Leeds", "role_level": "Staff",
        "tenure_band": "1-3 years", "answers": {FIRST: 4, SECOND: 5},
        "comments": {"improve": "Fewer hand-offs between teams."},
    }
    assert count(db, Response) == 0  # readable only once the round has closed
    assert count(db, Participation) == 1
    assert count(db, Draft) == 0

    close_round(db.session.get(Round, open_round.round_id))
    db.session.commit()
    stored = db.session.scalar(select(Response))
    assert stored.team_id == open_round.team_ids["care"]
    # One respondent in the team, below the minimum: no attribute is kept.
    assert (stored.location, stored.role_level, stored.tenure_band) == (None, None, None)
    assert sorted((a.statement_key, a.value) for a in db.session.scalars(select(Answer))) == \
        sorted([(FIRST, 4), (SECOND, 5)])
    assert [c.text for c in db.session.scalars(select(Comment))] == ["Fewer hand-offs between teams."]
    assert count(db, PendingResponse) == 0


def test_thank_you_page_says_what_happens_next(client, open_round):
    client.post(f"/s/{open_round.token}/submit")
    page = client.get(f"/s/{open_round.token}/thanks").get_data(as_text=True)
    assert "Your answers are in" in page
    assert "No one sees your individual answers" in page


def test_a_second_submit_stores_nothing_and_says_already_submitted(client, db, open_round):
    client.post(f"/s/{open_round.token}/step/1", data={f"s:{FIRST}": "4"})
    client.post(f"/s/{open_round.token}/submit")
    again = client.post(f"/s/{open_round.token}/submit")
    assert "already submitted" in again.get_data(as_text=True)
    assert count(db, PendingResponse) == 1
    assert count(db, Participation) == 1


def test_after_submitting_the_steps_are_closed(client, open_round):
    client.post(f"/s/{open_round.token}/submit")
    response = client.post(f"/s/{open_round.token}/step/1", data={f"s:{FIRST}": "2"})
    assert response.status_code == 302
    assert "already submitted" in client.get(f"/s/{open_round.token}").get_data(as_text=True)


def test_a_closed_round_gets_a_clear_page_and_takes_no_answers(client, db, open_round):
    set_round(db, open_round.round_id, status=RoundStatus.CLOSED)
    page = client.get(f"/s/{open_round.token}").get_data(as_text=True)
    assert "This survey has closed" in page
    client.post(f"/s/{open_round.token}/step/1", data={f"s:{FIRST}": "2"})
    client.post(f"/s/{open_round.token}/submit")
    assert count(db, Draft) == count(db, PendingResponse) == count(db, Response) == 0


def test_a_round_past_its_closing_date_is_closed_to_answers(client, db, open_round):
    set_round(db, open_round.round_id, opens_on=today() - timedelta(days=9),
              closes_on=today() - timedelta(days=1))
    assert "This survey has closed" in client.get(f"/s/{open_round.token}").get_data(as_text=True)


def test_a_round_not_yet_open_says_when_it_opens(client, db, open_round):
    set_round(db, open_round.round_id, opens_on=today() + timedelta(days=2))
    page = client.get(f"/s/{open_round.token}").get_data(as_text=True)
    assert "not open yet" in page
    assert f"{(today() + timedelta(days=2)):%-d %B %Y}" in page


def test_survey_pages_send_no_referrer_and_are_not_cached(client, open_round):
    response = client.get(f"/s/{open_round.token}/step/1")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


LINK_PAGES = ("/s/{token}", "/s/{token}/step/1", "/s/" + "A" * 32)


def test_a_link_page_neither_loads_nor_shows_a_signed_in_visitor(client, hr, open_round):
    """A link's pages are the same for anyone who holds it: nobody is shown signed in, and the
    user is not loaded (Flask-Login sends user_accessed when it loads one)."""
    loads = []
    with user_accessed.connected_to(lambda sender: loads.append(sender)):
        for url in LINK_PAGES:
            page = client.get(url.format(token=open_round.token)).get_data(as_text=True)
            assert "Sign out" not in page and "Hana Reyes" not in page, url
        assert loads == []
        # The same visitor is signed in on the app's other pages.
        assert "Sign out" in client.get("/rounds/").get_data(as_text=True)
        assert loads


def test_a_post_from_another_site_is_refused(client, db, open_round):
    response = client.post(f"/s/{open_round.token}/step/1", data={f"s:{FIRST}": "2"},
                           headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert count(db, Draft) == 0


def test_hr_preview_shows_the_survey_and_saves_nothing(client, db, hr, open_round):
    page = client.get(f"/rounds/{open_round.round_id}/preview/3").get_data(as_text=True)
    assert "Preview of" in page and "Step 3 of 8" in page
    assert "<form method=\"post\"" in page and "data-autosave" not in page
    assert count(db, Draft) == 0


def test_preview_is_for_hr_only(client, make_user, auth, open_round):
    leader = make_user("leader")
    auth.login_as(leader)
    assert client.get(f"/rounds/{open_round.round_id}/preview").status_code == 403

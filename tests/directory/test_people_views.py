"""People pages: the list with search, team filter and paging; adding, editing, leaving."""

import re

import pytest
from sqlalchemy import select

from surveyapp.models import Person, utcnow

from .helpers import text, visible

pytestmark = pytest.mark.both_databases


@pytest.fixture
def org(make_team):
    ops = make_team("Operations")
    care = make_team("Customer Care", parent=ops)
    north = make_team("North", parent=care)
    sales = make_team("Sales")
    return ops, care, north, sales


def names(response) -> list[str]:
    """The names in the people table, in order."""
    return re.findall(r'<td><a href="/people/\d+">([^<]+)</a>', text(response))


def test_the_list_is_sorted_by_name_in_any_letter_case(client, hr, org, make_person):
    for name in ("zoe Zed", "Adam Ant", "bea Bell"):
        make_person(team=org[3], name=name)
    assert names(client.get("/people")) == ["Adam Ant", "bea Bell", "zoe Zed"]


def test_search_finds_by_part_of_the_name_or_email(client, hr, org, make_person):
    make_person(team=org[3], name="Ana Lima", email="ana@example.com")
    make_person(team=org[3], name="Ben Ode", email="b.ode@lima.example.com")
    make_person(team=org[3], name="Cat Ng", email="cat@example.com")
    assert names(client.get("/people?q=LIMA")) == ["Ana Lima", "Ben Ode"]


def test_search_treats_percent_and_underscore_literally(client, hr, org, make_person):
    make_person(team=org[3], name="Ana Lima")
    assert names(client.get("/people?q=%25")) == []


def test_the_team_filter_includes_the_teams_below(client, hr, org, make_person):
    ops, care, north, sales = org
    make_person(team=care, name="In Care")
    make_person(team=north, name="In North")
    make_person(team=sales, name="In Sales")
    assert names(client.get(f"/people?team={care.id}")) == ["In Care", "In North"]


def test_people_who_left_are_hidden_unless_asked_for(client, hr, org, make_person):
    make_person(team=org[3], name="Still Here")
    make_person(team=org[3], name="Gone Away", archived_at=utcnow())
    assert names(client.get("/people")) == ["Still Here"]
    assert names(client.get("/people?left=1")) == ["Gone Away", "Still Here"]


def test_the_list_pages_and_keeps_the_filters_in_the_page_links(client, hr, org, make_person, app):
    app.config["PEOPLE_PER_PAGE"] = 2
    for n in range(5):
        make_person(team=org[3], name=f"Person {n}")
    first = client.get(f"/people?q=person&team={org[3].id}")
    assert names(first) == ["Person 0", "Person 1"]
    assert "Showing 1 to 2 of 5 people" in visible(first)
    assert f"/people?page=2&amp;q=person&amp;team={org[3].id}" in text(first)
    assert names(client.get(f"/people?page=3&q=person&team={org[3].id}")) == ["Person 4"]


def test_the_empty_list_says_what_to_do(client, hr, org):
    assert "No people yet. Add the first person or import people from a CSV file." in visible(
        client.get("/people"))


def test_a_search_without_results_says_so(client, hr, org, make_person):
    make_person(team=org[3])
    assert "No one matches your search." in visible(client.get("/people?q=nobody"))


def test_hr_adds_a_person(client, hr, org, db):
    response = client.submit("/people/new", {
        "name": "Ana Lima", "email": "Ana@Example.com", "team_id": org[2].id, "location": "Leeds",
        "role_level": "", "tenure_band": ""})
    assert response.status_code == 302
    person = db.session.scalar(select(Person))
    assert (person.email, person.team_id, person.location, person.role_level) == (
        "ana@example.com", org[2].id, "Leeds", None)


def test_a_duplicate_email_is_shown_beside_the_field_with_who_has_it(client, hr, org, make_person):
    make_person(team=org[2], name="Ana Lima", email="ana@example.com")
    response = client.submit("/people/new", {"name": "Other Ana", "email": "ANA@example.com",
                                             "team_id": org[3].id})
    body = text(response)
    assert "<title>Error: Add a person" in body
    assert ('href="#email">Someone with this e-mail already exists: Ana Lima in '
            "Operations/Customer Care/North.") in body
    assert 'id="email-error"' in body
    assert 'value="Other Ana"' in body


def test_missing_fields_are_each_reported(client, hr, org):
    body = text(client.submit("/people/new", {"name": "", "email": "", "team_id": 0}))
    assert 'href="#name">Enter the person&#39;s name.' in body
    assert 'href="#email">Enter an e-mail address.' in body


def test_choosing_no_team_is_reported_beside_the_team(client, hr, org):
    body = text(client.submit("/people/new", {"name": "A", "email": "a@example.com", "team_id": 0}))
    assert 'href="#team_id">Choose a team.' in body


def test_hr_edits_and_moves_a_person(client, hr, org, make_person, db):
    person = make_person(team=org[3], name="Ana", email="ana@example.com")
    page = visible(client.get(f"/people/{person.id}"))
    assert "Mark Ana as having left" in page
    response = client.submit(f"/people/{person.id}", {
        "name": "Ana Lima", "email": "ana@example.com", "team_id": org[2].id})
    assert response.status_code == 302
    db.session.refresh(person)
    assert (person.name, person.team_id) == ("Ana Lima", org[2].id)


def test_hr_marks_a_person_as_having_left_and_back(client, hr, org, make_person, db):
    person = make_person(team=org[3], name="Ana")
    client.submit(f"/people/{person.id}/archive", form_url=f"/people/{person.id}")
    db.session.refresh(person)
    assert person.archived_at is not None
    assert "Ana has left." in visible(client.get(f"/people/{person.id}"))
    client.submit(f"/people/{person.id}/unarchive", form_url=f"/people/{person.id}")
    db.session.refresh(person)
    assert person.archived_at is None


def test_an_archived_team_is_not_offered_for_new_people(client, hr, make_team):
    make_team("Open")
    old = make_team("Closed", archived_at=utcnow())
    assert f'value="{old.id}"' not in text(client.get("/people/new"))


def test_a_search_with_a_nul_character_is_harmless(client, hr, org, make_person):
    make_person(team=org[3], name="Ana Lima")
    response = client.get("/people?q=Ana%00")
    assert response.status_code == 200
    assert names(response) == ["Ana Lima"]

"""The file names of a report's downloads, for a team whose name is not Latin-1."""

import pytest
from sqlalchemy import update
from werkzeug.http import parse_options_header

from surveyapp.models import RoundTeam


@pytest.fixture
def lodz_care(db, closed_round) -> str:
    """Name the round's Customer Care team "Łódź Care" (HTTP headers are Latin-1; "Ł" is not)."""
    db.session.execute(
        update(RoundTeam)
        .where(RoundTeam.round_id == closed_round.round_id,
               RoundTeam.team_id == closed_round.teams["Customer Care"])
        .values(name="Łódź Care", path="Operations/Łódź Care")
    )
    db.session.commit()
    return f"/reports/{closed_round.round_id}/{closed_round.teams['Customer Care']}"


@pytest.mark.parametrize("suffix, filename", [
    ("/report.pdf", "Spring-2026-Łódź-Care.pdf"),
    ("/aggregates.csv", "Spring-2026-Łódź-Care.csv"),
])
def test_a_download_of_a_team_named_lodz_care_keeps_its_name(client, hr, lodz_care, suffix,
                                                              filename):
    response = client.get(lodz_care + suffix)

    assert response.status_code == 200
    header = response.headers["Content-Disposition"]
    header.encode("latin-1")  # a header that is not Latin-1 cannot be sent at all
    disposition, options = parse_options_header(header)
    assert (disposition, options["filename"]) == ("attachment", filename)  # from filename*
    assert 'filename="Spring-2026-' in header  # and an ASCII name for clients without filename*

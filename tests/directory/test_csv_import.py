"""Reading people files: encodings, separators, headers, and every kind of bad line."""

import pytest

from surveyapp.directory.csv_import import (
    EMPTY_FILE,
    NO_PEOPLE,
    NOT_UTF8,
    ImportRow,
    column_for,
    detect_delimiter,
    parse_people_csv,
)


def parse(text: str, encoding: str = "utf-8"):
    return parse_people_csv(text.encode(encoding))


def messages(parsed):
    return [str(error) for error in parsed.errors]


def test_a_plain_comma_file_gives_one_row_per_person_with_spreadsheet_line_numbers():
    parsed = parse("email,name,team\nana@example.com,Ana Lima,Operations/Care\n"
                   "ben@example.com,Ben Ode,Sales\n")
    assert parsed.ok
    assert parsed.rows == [
        ImportRow(2, "ana@example.com", "Ana Lima", ("Operations", "Care")),
        ImportRow(3, "ben@example.com", "Ben Ode", ("Sales",)),
    ]


def test_a_byte_order_mark_is_ignored():
    parsed = parse_people_csv(b"\xef\xbb\xbfemail,name,team\nana@example.com,Ana,Sales\n")
    assert parsed.ok and parsed.rows[0].email == "ana@example.com"


def test_semicolons_as_excel_exports_in_many_countries_are_detected():
    parsed = parse("email;name;team\r\nana@example.com;Lima, Ana;Sales\r\n")
    assert parsed.delimiter == ";"
    assert parsed.rows[0].name == "Lima, Ana"


def test_crlf_line_endings_leave_no_carriage_return_in_values():
    parsed = parse("email,name,team\r\nana@example.com,Ana,Sales\r\nben@example.com,Ben,Ops\r\n")
    assert [r.team for r in parsed.rows] == ["Sales", "Ops"]
    assert [r.line for r in parsed.rows] == [2, 3]


def test_quoted_fields_may_hold_the_separator_and_quotes():
    parsed = parse('email,name,team\nana@example.com,"Lima, Ana ""Nan""",Sales\n')
    assert parsed.rows[0].name == 'Lima, Ana "Nan"'


def test_a_line_break_inside_a_quoted_field_does_not_shift_later_line_numbers():
    parsed = parse('email,name,team\nana@example.com,"Ana\nLima",Sales\nbad,Ben,Sales\n')
    assert messages(parsed)[0].startswith("Line 3:")


@pytest.mark.parametrize("header", [
    "E-mail,Name,Team", "EMAIL ADDRESS;Full name;Team path", "email, name , team",
])
def test_header_variants_are_recognised_in_any_letter_case(header):
    delimiter = ";" if ";" in header else ","
    parsed = parse(f"{header}\nana@example.com{delimiter}Ana{delimiter}Sales\n")
    assert parsed.ok, messages(parsed)


def test_optional_attribute_columns_are_read_with_their_header_variants():
    parsed = parse("Team,E-mail,Name,Location,Role level,Tenure band\n"
                   "Sales,ana@example.com,Ana,Leeds,Team lead,1-3 years\n")
    row = parsed.rows[0]
    assert (row.location, row.role_level, row.tenure_band) == ("Leeds", "Team lead", "1-3 years")
    assert parsed.attribute_columns == ("location", "role_level", "tenure_band")


def test_an_empty_attribute_cell_reads_as_none():
    parsed = parse("email,name,team,location\nana@example.com,Ana,Sales,\n")
    assert parsed.rows[0].location is None
    assert parsed.attribute_columns == ("location",)


def test_unknown_columns_are_ignored_and_listed():
    parsed = parse("email,name,team,Employee ID,Notes\nana@example.com,Ana,Sales,17,x\n")
    assert parsed.ok
    assert parsed.ignored_columns == ("Employee ID", "Notes")


def test_emails_are_stored_lower_case():
    parsed = parse("email,name,team\n  Ana.Lima@Example.COM ,Ana,Sales\n")
    assert parsed.rows[0].email == "ana.lima@example.com"


def test_team_paths_are_split_and_trimmed():
    parsed = parse("email,name,team\nana@example.com,Ana, Operations / Customer Care//North \n")
    assert parsed.rows[0].team_path == ("Operations", "Customer Care", "North")


def test_blank_lines_are_skipped_but_still_counted():
    parsed = parse("email,name,team\n\n,,\nana@example.com,Ana,Sales\n")
    assert [r.line for r in parsed.rows] == [4]


def test_a_file_that_is_not_utf8_gets_the_save_as_advice():
    parsed = parse("email,name,team\nzoe@example.com,Zoë,Sales\n", encoding="cp1252")
    assert messages(parsed) == [NOT_UTF8]
    assert parsed.rows == []


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n"])
def test_an_empty_file_is_refused(data):
    assert messages(parse_people_csv(data)) == [EMPTY_FILE]


def test_a_file_the_csv_reader_cannot_read_is_refused_as_a_whole():
    huge = b"email,name,team\nana@example.com,\"" + b"x" * 200_000 + b"\",Sales\n"
    [error] = parse_people_csv(huge).errors
    assert error.line is None
    assert error.message.startswith("The file cannot be read as CSV (near line 2)")


def test_a_nul_character_is_refused_because_no_database_can_store_it():
    parsed = parse_people_csv(b"email,name,team\nana@example.com,Ana,Sa\x00les\n")
    assert [e.line for e in parsed.errors] == [2]
    assert "NUL character" in parsed.errors[0].message


def test_a_header_without_people_is_refused():
    assert messages(parse("email,name,team\n")) == [NO_PEOPLE]


def test_missing_required_columns_are_named():
    [message] = messages(parse("email,fullname\nana@example.com,Ana\n"))
    assert message.startswith("The file has no team column.")
    [message] = messages(parse("E-mail\nana@example.com\n"))
    assert message.startswith("The file has no name and team columns.")
    [message] = messages(parse("Nothing\nx\n"))
    assert message.startswith("The file has no email, name and team columns.")


def test_two_columns_for_the_same_thing_are_refused():
    [message] = messages(parse("email,E-mail,name,team\na@example.com,a@example.com,A,S\n"))
    assert message == ('The columns "email" and "E-mail" are both the email column. '
                       "Keep only one of them.")


def test_every_bad_line_is_listed_with_its_line_number_and_no_row_is_kept():
    text = "\n".join([
        "email,name,team,location",
        "good@example.com,Good,Sales,Leeds",            # 2
        ",No Mail,Sales,Leeds",                        # 3 missing e-mail
        "not-an-email,Bad Mail,Sales,Leeds",           # 4 malformed
        "good@example.com,Again,Sales,Leeds",          # 5 duplicate of line 2
        "empty.team@example.com,Empty Team,,Leeds",    # 6 empty team
        "no.name@example.com,,Sales,Leeds",            # 7 empty name
        f"long@example.com,{'x' * 201},Sales,Leeds",   # 8 name too long
        f"loc@example.com,Loc,Sales,{'y' * 81}",       # 9 attribute too long
        "short@example.com,Short,Sales",               # 10 too few values
        "extra@example.com,Extra,Sales,Leeds,oops",    # 11 too many values
        f"team@example.com,Team,Ops/{'z' * 121},Leeds",  # 12 team name too long
        "GOOD@example.com,Third,Sales,Leeds",          # 13 duplicate (case) of line 2
    ])
    parsed = parse(text)
    got = messages(parsed)
    assert [e.line for e in parsed.errors] == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    assert got[0] == "Line 3: The e-mail is missing."
    assert got[1].startswith('Line 4: "not-an-email" is not a valid e-mail address.')
    assert got[2].startswith("Line 5: The e-mail good@example.com is also on line 2.")
    assert got[3] == "Line 6: The team is missing."
    assert got[4] == "Line 7: The name is missing."
    assert got[5] == "Line 8: The name is longer than 200 characters."
    assert got[6] == "Line 9: The location is longer than 80 characters."
    assert got[7].startswith("Line 10: This line has 3 values but the header has 4 columns.")
    assert got[8].startswith("Line 11: This line has 5 values but the header has 4 columns.")
    assert got[9].startswith('Line 12: The team name "zzz')
    assert got[10].startswith("Line 13: The e-mail good@example.com is also on line 2.")
    assert not parsed.ok


def test_a_line_with_several_problems_lists_each():
    parsed = parse("email,name,team\n,,Sales\n")
    assert messages(parsed) == ["Line 2: The e-mail is missing.", "Line 2: The name is missing."]


def test_trailing_empty_cells_beyond_the_header_are_tolerated():
    parsed = parse("email,name,team\nana@example.com,Ana,Sales,,\n")
    assert parsed.ok


def test_an_email_longer_than_254_characters_is_refused():
    parsed = parse(f"email,name,team\n{'a' * 250}@example.com,Ana,Sales\n")
    assert messages(parsed) == ["Line 2: The e-mail is longer than 254 characters."]


@pytest.mark.parametrize("header, expected", [
    ("email;name;team", ";"), ("email,name,team", ","), ("Name;Team;E-mail", ";"),
    ('"email";"name";"team"', ";"),
])
def test_the_separator_is_found_from_the_header(header, expected):
    assert detect_delimiter(header + "\n") == expected


def test_the_sniffer_decides_when_the_header_names_no_known_column():
    assert detect_delimiter("a;b;c\n1;2;3\n") == ";"


@pytest.mark.parametrize("name, column", [
    ("E-mail", "email"), ("e_mail", "email"), ("Role level", "role_level"),
    ("TENURE-BAND", "tenure_band"), ("Employee ID", None),
])
def test_column_names_are_matched_loosely(name, column):
    assert column_for(name) == column


def test_the_test_domain_is_accepted_but_other_reserved_domains_are_not():
    parsed = parse("email,name,team\nAna@Example.TEST,Ana,Sales\nbo@example.invalid,Bo,Sales\n"
                   "cy@intranet.local,Cy,Sales\n")
    assert [row.email for row in parsed.rows] == ["ana@example.test"]
    assert [e.line for e in parsed.errors] == [3, 4]

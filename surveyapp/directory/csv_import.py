"""Reading a people CSV file into plain rows and errors (no Flask, no database).

The file is what Excel ("CSV UTF-8") and Google Sheets export: UTF-8 with or without a byte
order mark, comma- or semicolon-separated, any line endings, quoted fields that may hold the
separator or a line break. The first line names the columns: ``email``, ``name`` and ``team``
are required, ``location``, ``role_level`` and ``tenure_band`` optional, in any order and
spelled loosely ("E-mail", "Role level"). Other columns are ignored and reported.

Line numbers are those a spreadsheet shows: the header is line 1, the first person line 2,
whatever line breaks a quoted field contains. A blank line is skipped but still counted.

``parse_people_csv`` never raises for a bad file: it returns every problem it finds.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from ..email_addresses import MAX_EMAIL, EmailNotValidError, validated_email
from ..orgtree import PATH_SEPARATOR, split_path

REQUIRED_COLUMNS = ("email", "name", "team")
ATTRIBUTE_COLUMNS = ("location", "role_level", "tenure_band")
#: What a column may be called, after ``header_key`` (case, spaces, "-", "_", "." removed).
COLUMN_ALIASES = {
    "email": {"email", "emailaddress", "mail", "workemail"},
    "name": {"name", "fullname"},
    "team": {"team", "teampath"},
    "location": {"location"},
    "role_level": {"rolelevel", "level"},
    "tenure_band": {"tenureband", "tenure"},
}
#: Longest values the database takes (see models.Person and models.Team; MAX_EMAIL: e-mails).
MAX_NAME = 200
MAX_TEAM_NAME = 120
MAX_TEAM_PATH = 1000
MAX_ATTRIBUTE = 80
ATTRIBUTE_NOUNS = {"location": "location", "role_level": "role level", "tenure_band": "tenure band"}

NOT_UTF8 = "This file is not UTF-8. In Excel choose File › Save As › CSV UTF-8."
EMPTY_FILE = "The file is empty. Choose a CSV file with a header line and one line per person."
NO_PEOPLE = "The file has a header line but no people below it."
DELIMITERS = (",", ";")


@dataclass(frozen=True)
class ImportRow:
    """One person as the file gives them, cleaned: e-mail lower-cased, blanks trimmed."""

    line: int
    email: str
    name: str
    #: The team's names from the top of the tree down, e.g. ("Operations", "Customer Care").
    team_path: tuple[str, ...]
    #: None for an empty cell; only meaningful for the columns in ``ParsedFile.attribute_columns``.
    location: str | None = None
    role_level: str | None = None
    tenure_band: str | None = None

    @property
    def team(self) -> str:
        return PATH_SEPARATOR.join(self.team_path)


@dataclass(frozen=True)
class RowError:
    """What is wrong, and where: ``line`` is None for a problem with the whole file."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return self.message if self.line is None else f"Line {self.line}: {self.message}"


@dataclass
class ParsedFile:
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    #: The optional attribute columns the file has; attributes of other columns stay as they are.
    attribute_columns: tuple[str, ...] = ()
    #: Header names of the columns that were not recognised (shown as a notice).
    ignored_columns: tuple[str, ...] = ()
    delimiter: str = ","

    @property
    def ok(self) -> bool:
        return not self.errors


def header_key(name: str) -> str:
    """Return the comparable form of a column name: "E-mail Address" -> "emailaddress"."""
    return re.sub(r"[\s_.\-]+", "", name.strip().casefold())


def column_for(name: str) -> str | None:
    """Return the column a header cell stands for ("Role level" -> "role_level"), or None."""
    key = header_key(name)
    for column, aliases in COLUMN_ALIASES.items():
        if key in aliases:
            return column
    return None


def detect_delimiter(text: str) -> str:
    """Return "," or ";": the one whose header line names more known columns.

    When neither names any (a file without a proper header), ``csv.Sniffer`` restricted to
    the two decides, and "," when it cannot.
    """
    scores = {}
    for delimiter in DELIMITERS:
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
        scores[delimiter] = sum(1 for cell in header if column_for(cell))
    best = max(DELIMITERS, key=lambda d: scores[d])
    if scores[best]:
        return best
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        return ","


def decode(data: bytes) -> str:
    """Return the text of ``data`` without a byte order mark. :raise UnicodeDecodeError:"""
    return data.decode("utf-8-sig")


def parse_people_csv(data: bytes) -> ParsedFile:
    """Read a people file; return its rows and every problem found (see module docstring).

    A file-level problem (not UTF-8, empty, missing columns, unreadable CSV) is returned as a
    single error with ``line`` None and no rows.
    """
    try:
        text = decode(data)
    except UnicodeDecodeError:
        return ParsedFile(errors=[RowError(None, NOT_UTF8)])
    if not text.strip():
        return ParsedFile(errors=[RowError(None, EMPTY_FILE)])
    delimiter = detect_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = list(reader)
    except csv.Error as error:
        return ParsedFile(
            errors=[RowError(None, f"The file cannot be read as CSV (near line {reader.line_num}): "
                                   f"{error}.")],
            delimiter=delimiter,
        )
    header, body = records[0], records[1:]
    result = ParsedFile(delimiter=delimiter)
    positions, problem = read_header(header, result)
    if problem:
        result.errors.append(RowError(None, problem))
        return result
    seen_emails: dict[str, int] = {}
    for offset, cells in enumerate(body):
        line = offset + 2
        if not any(cell.strip() for cell in cells):
            continue
        row = read_row(line, cells, len(header), positions, seen_emails, result.errors)
        if row is not None:
            result.rows.append(row)
    if not result.rows and not result.errors:
        result.errors.append(RowError(None, NO_PEOPLE))
    return result


def read_header(header: list[str], result: ParsedFile) -> tuple[dict[str, int], str | None]:
    """Map each known column to its position; fill in ignored and attribute columns.

    Returns the positions and a message when the header cannot be used.
    """
    positions: dict[str, int] = {}
    ignored = []
    for position, cell in enumerate(header):
        column = column_for(cell)
        if column is None:
            if cell.strip():
                ignored.append(cell.strip())
            continue
        if column in positions:
            first = header[positions[column]].strip()
            return positions, (
                f'The columns "{first}" and "{cell.strip()}" are both the {column} '
                "column. Keep only one of them."
            )
        positions[column] = position
    result.ignored_columns = tuple(ignored)
    result.attribute_columns = tuple(c for c in ATTRIBUTE_COLUMNS if c in positions)
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        names = " and ".join([", ".join(missing[:-1]), missing[-1]] if len(missing) > 1 else missing)
        plural = "columns" if len(missing) > 1 else "column"
        return positions, (
            f"The file has no {names} {plural}. The first line must name the columns: "
            "email, name, team (and optionally location, role_level, tenure_band)."
        )
    return positions, None


def read_row(line: int, cells: list[str], width: int, positions: dict[str, int],
             seen_emails: dict[str, int], errors: list[RowError]) -> ImportRow | None:
    """Check one record; append its problems to ``errors`` and return it when it has none."""
    extra = cells[width:]
    if len(cells) < width or any(cell.strip() for cell in extra):
        errors.append(RowError(
            line, f"This line has {len(cells)} values but the header has {width} columns. "
                  "Check for a missing or extra separator, or a value with a separator that "
                  "is not in quotes."))
        return None
    value = {column: cells[position].strip() for column, position in positions.items()}
    if any("\x00" in text for text in value.values()):
        errors.append(RowError(line, "This line contains a NUL character, which cannot be "
                                     "stored. Save the file again as CSV UTF-8."))
        return None
    found: list[str] = []
    email = check_email(value["email"], line, seen_emails, found)
    name = value["name"]
    if not name:
        found.append("The name is missing.")
    elif len(name) > MAX_NAME:
        found.append(f"The name is longer than {MAX_NAME} characters.")
    team_path = tuple(split_path(value["team"]))
    if not team_path:
        found.append("The team is missing.")
    else:
        found.extend(
            f'The team name "{part[:40]}…" is longer than {MAX_TEAM_NAME} characters.'
            for part in team_path if len(part) > MAX_TEAM_NAME
        )
        if len(PATH_SEPARATOR.join(team_path)) > MAX_TEAM_PATH:
            found.append(f"The team path is longer than {MAX_TEAM_PATH} characters.")
    attributes = {}
    for column in ATTRIBUTE_COLUMNS:
        text = value.get(column) or None
        if text is not None and len(text) > MAX_ATTRIBUTE:
            found.append(
                f"The {ATTRIBUTE_NOUNS[column]} is longer than {MAX_ATTRIBUTE} characters."
            )
        attributes[column] = text
    errors.extend(RowError(line, message) for message in found)
    if found:
        return None
    return ImportRow(line=line, email=email, name=name, team_path=team_path, **attributes)


def check_email(raw: str, line: int, seen: dict[str, int], found: list[str]) -> str:
    """Return the normalised e-mail; append what is wrong with it to ``found``."""
    if not raw:
        found.append("The e-mail is missing.")
        return ""
    if len(raw) > MAX_EMAIL:
        found.append(f"The e-mail is longer than {MAX_EMAIL} characters.")
        return ""
    try:
        email = validated_email(raw, allow_test_domain=True)
    except EmailNotValidError as error:
        found.append(f'"{raw}" is not a valid e-mail address. {error}')
        return ""
    if email in seen:
        found.append(f"The e-mail {email} is also on line {seen[email]}. Each person must be "
                     "on one line only.")
    else:
        seen[email] = line
    return email


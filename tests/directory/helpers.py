"""Helpers for the directory's page tests."""

import html
import re


def text(response) -> str:
    """The page's HTML."""
    return response.get_data(as_text=True)


def visible(response) -> str:
    """The page's text without tags, whitespace collapsed: what a reader sees."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", text(response), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split()).replace(" .", ".")

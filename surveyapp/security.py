"""HTTP security headers for every response.

The Content Security Policy allows scripts, styles and images from this site only: no inline
scripts or styles, no framing (``frame-ancestors 'none'``), forms posting only back here.
Survey pages also send ``Referrer-Policy: no-referrer`` (their URL holds the invitation token).
Every page of a signed-in member of staff, and every survey page, sends ``Cache-Control:
no-store``: no shared cache or browser history keeps what only they may see. Responses that set
their own caching (static files, the heat-map stylesheet) keep it.
"""

from __future__ import annotations

from flask import Flask, Request, Response, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with no signer built for a request without a session
    cookie (every survey page, staff before they sign in): there is nothing to verify."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


#: Sent on every response that does not set its own.
HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
PRODUCTION_HEADERS = (*HEADERS, ("Strict-Transport-Security", "max-age=31536000"))


def register(app: Flask) -> None:
    app.session_interface = SessionInterface()
    defaults = PRODUCTION_HEADERS if app.config["ENV"] == "production" else HEADERS

    @app.after_request
    def security_headers(response: Response) -> Response:
        # What Headers.setdefault does, with one pass over the response's headers instead of
        # two for each of ours.
        headers = response.headers
        present = {name.lower() for name, _ in headers}  # (name, value) pairs
        for name, value in defaults:
            if name.lower() not in present:
                headers.add(name, value)
        # Flask-Login keeps the signed-in user's id in the session; reading it loads no user.
        if "cache-control" not in present and "_user_id" in session:
            headers["Cache-Control"] = "no-store"
        return response

"""The one place first-party visitor cookies are written: `vid` (long-lived) and `sid` (sliding session).

SameSite from config (Lax by default), Secure on HTTPS (or always/never), Path=/, optional Domain. Neither is
HttpOnly: the Go browser client reads and writes `sid` itself, so a hidden cookie would make it start a new session
on every event. When
Cookies.RequireConsent is on, nothing is set until the visitor's consent flags (cflags) are non-zero.
"""

from __future__ import annotations

from starlette.responses import Response

from tracker.config import CookieConfig
from tracker.events.row import Visitor


def set_visitor_cookies(
    response: Response, visitor: Visitor, cookies: CookieConfig, *, secure_request: bool, had_vid: bool
) -> None:
    secure = cookies.secure == "always" or (cookies.secure == "auto" and secure_request)
    same_site = cookies.same_site
    if same_site == "None":
        secure = True  # browsers drop SameSite=None cookies without Secure
    # Values are UUIDs we made or validated, so the header is assembled directly (http.cookies is slow).
    attributes = f"; Path=/; SameSite={same_site}"
    if cookies.domain:
        attributes += f"; Domain={cookies.domain}"
    if secure:
        attributes += "; Secure"
    if not had_vid:
        response.raw_headers.append(
            (b"set-cookie", f"vid={visitor.vid}; Max-Age={cookies.visitor_days * 86400}{attributes}".encode())
        )
    response.raw_headers.append(
        (b"set-cookie", f"sid={visitor.sid}; Max-Age={cookies.session_minutes * 60}{attributes}".encode())
    )

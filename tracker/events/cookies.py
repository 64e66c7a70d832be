"""The one place first-party visitor cookies are written: `vid` (long-lived) and `sid` (sliding session).

SameSite from config (Lax by default), Secure on HTTPS (or always/never), Path=/, optional Domain. When
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
    same_site = cookies.same_site.lower()
    if same_site == "none":
        secure = True  # browsers drop SameSite=None cookies without Secure
    domain = cookies.domain or None
    if not had_vid:
        response.set_cookie(
            "vid", visitor.vid, max_age=cookies.visitor_days * 86400, path="/", domain=domain,
            secure=secure, samesite=same_site,  # type: ignore[arg-type]
        )
    response.set_cookie(
        "sid", visitor.sid, max_age=cookies.session_minutes * 60, path="/", domain=domain,
        secure=secure, httponly=True, samesite=same_site,  # type: ignore[arg-type]
    )

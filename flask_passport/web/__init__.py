"""The web layer: forms, CSRF, cookie auth, login time and rate limits for pages and browsers."""

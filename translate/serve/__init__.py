"""`translate serve`: a local web page to try any catalogue model or run directory in a browser.

`shelf.py` knows what is offered and translates one upload; `server.py` is the HTTP server (standard library)
with its page in `static/` (one HTML file, one script, one style sheet: nothing is fetched from elsewhere).
"""

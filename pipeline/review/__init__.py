"""QA review of flagged referrals: a local web app over a review database.

* ``db``: the review database (SQLAlchemy; SQLite in WAL mode by default, any
  URL such as PostgreSQL for a team server): referrals loaded from an audit
  output, append-only decisions, the queue, the export.
* ``app``: the Flask app. Every page has a JSON twin under ``/api`` (the API
  of FORMATS.md "Review service"); both call the same ``ReviewDB`` methods.

The command line (``spine-audit review serve|export``) is a thin wrapper.
"""

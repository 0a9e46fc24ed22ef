"""Error codes of spine-audit, in one place (after spaCy's errors.py).

Messages never include note text: referrals are patient data. They name the
file, rule, column or row id instead.
"""


class SpineAuditError(Exception):
    """Base class: a problem the user can fix, reported as one line."""

    code = "E000"

    def __init__(self, message):
        super().__init__(f"[{self.code}] {message}")


class DataFileError(SpineAuditError):
    """A packaged or user-supplied rule/lexicon file is invalid."""

    code = "E001"


class InputError(SpineAuditError):
    """The input of a run cannot be read (missing file, column, format)."""

    code = "E002"


class OutputError(SpineAuditError):
    """The output of a run cannot be written."""

    code = "E003"


class ModelError(SpineAuditError):
    """A mismatch model cannot be loaded or trusted."""

    code = "E004"


# Row-level problems: these do not stop a run, they become `status: "error"`.
ROW_EMPTY = "E101 empty or missing text"
ROW_NOT_TEXT = "E102 text value is not a string"
ROW_TOO_LONG = "E103 note longer than the size limit ({limit} characters)"
ROW_UNDECODABLE = "E104 text contains undecodable bytes"
ROW_FAILED = "E105 analysis failed ({kind})"

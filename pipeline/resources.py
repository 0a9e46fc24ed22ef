"""Loading of the packaged data files (lexicons, rules, order vocabulary).

The files live inside the package (``pipeline/data``) and are found through
``importlib.resources``, so they work from a wheel, a zip or an editable
install alike. A user may point to their own copy (``path=``) to try a change.
"""

import hashlib
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from .errors import DataFileError


def data_path(name):
    return resources.files("pipeline").joinpath("data", name)


def load_yaml(name, path=None):
    """Parse a YAML data file; ``path`` overrides the packaged copy."""
    source = Path(path) if path is not None else data_path(name)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(f"cannot read data file {source}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise DataFileError(f"data file {source.name} is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise DataFileError(f"data file {source.name} must hold a mapping at the top level")
    return data


@lru_cache(maxsize=None)
def load_packaged(name):
    return load_yaml(name)


def check_keys(obj, allowed, where, required=()):
    """Refuse unknown keys (like medspaCy's ``from_dict``) and missing ones."""
    if not isinstance(obj, dict):
        raise DataFileError(f"{where}: expected a mapping, got {type(obj).__name__}")
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise DataFileError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    missing = [k for k in required if k not in obj]
    if missing:
        raise DataFileError(f"{where}: missing key(s) {missing}")


def check_enum(value, allowed, where, what):
    if value not in allowed:
        raise DataFileError(f"{where}: unknown {what} {value!r}; expected one of {list(allowed)}")


def sha256_file(path):
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()

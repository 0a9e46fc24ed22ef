"""Normal forms (data/normalise.yaml) and token patterns (concepts.yaml
`tokens:`): the files are validated, and a clinician's edit changes matching."""

import copy

import pytest
import yaml

from pipeline.errors import DataFileError
from pipeline.extract import build_nlp
from pipeline.extract.lexicon import ConceptLexicon
from pipeline.extract.normalise import NormTable, load_norms
from pipeline.resources import load_yaml


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def test_normalise_table_maps_variants_and_keeps_other_words():
    forms = load_norms()
    table = NormTable(forms)
    assert table("Haemodialysis") == "hemodialysis"
    assert table("B/L") == "bilateral"
    assert table("legs") == "leg"
    assert table("fever") == "fever"
    assert table("\u2019") == "'"   # spaCy's base norms still apply (curly quote)


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["spelling"].update(tumor=["tumour", "tumour"]), "already listed"),
    (lambda d: d["abbreviation"].update(fever=["fevers/chills", "tumour"]), "already listed"),
    (lambda d: d["spelling"].update(tumor=["Tumour"]), "one lower-case word"),
    (lambda d: d["spelling"].update({"physical therapy": ["physio2"]}), "one lower-case word"),
    (lambda d: d["spelling"].update(tumor=[]), "non-empty list"),
    (lambda d: d.update(slang={"ok": ["k"]}), "unknown key"),
])
def test_normalise_file_validation_names_the_entry(tmp_path, mutate, message):
    data = copy.deepcopy(load_yaml("normalise.yaml"))
    mutate(data)
    with pytest.raises(DataFileError, match=message):
        load_norms(_write(tmp_path, "normalise.yaml", data))


def test_normalise_variant_that_is_two_tokens_is_refused(tmp_path):
    data = copy.deepcopy(load_yaml("normalise.yaml"))
    data["spelling"]["tumor"].append("tu-mour")
    with pytest.raises(DataFileError, match="not one token"):
        build_nlp(normalise_path=_write(tmp_path, "normalise.yaml", data))


def test_normalise_clinician_adds_a_spelling_pair_without_python(tmp_path):
    """A new pair in the data file makes an existing phrase match the variant."""
    text = "On haemodialysys three times a week."   # a misspelling the shipped file does not list
    assert "RENAL_IMPAIRMENT" not in build_nlp()(text)._.spine["concepts"]
    data = copy.deepcopy(load_yaml("normalise.yaml"))
    data["misspelling"]["hemodialysis"] = ["haemodialysys"]
    nlp = build_nlp(normalise_path=_write(tmp_path, "normalise.yaml", data))
    assert nlp(text)._.spine["concepts"] == {"RENAL_IMPAIRMENT": "present"}


def _lexicon_with(mutate):
    data = copy.deepcopy(load_yaml("concepts.yaml"))
    mutate(data)
    return ConceptLexicon.from_dict(data)


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["concepts"]["RADICULOPATHY"]["patterns"].append(
        {"id": "RAD-X", "tokens": [{"NORM": {"IN": "$NO_SUCH_LIST"}}]}), r"RAD-X.*unknown word list \$NO_SUCH_LIST"),
    (lambda d: d["concepts"]["RADICULOPATHY"]["patterns"].append(
        {"id": "RAD-X", "tokens": [], }), r"RAD-X.*non-empty list"),
    (lambda d: d["concepts"]["RADICULOPATHY"]["patterns"].append(
        {"id": "RAD-X", "tokens": [{"NORM": "leg"}], "phrases": ["leg"]}), r"RAD-X.*exactly one"),
    (lambda d: d["lists"].update(LOOP=["$LOOP"]), r"LOOP includes itself"),
    (lambda d: d["concepts"]["FEVER"]["patterns"][0].update(status="sometimes"), r"FEVER-WORD.*sometimes"),
])
def test_token_pattern_file_validation_names_the_pattern(mutate, message):
    with pytest.raises(DataFileError, match=message):
        _lexicon_with(mutate)


def test_token_pattern_lists_are_expanded():
    lex = ConceptLexicon.from_dict(load_yaml("concepts.yaml"))
    pat = lex.by_id["RAD-LIMB-SYMPTOM"]
    first = pat.tokens[0][0]["NORM"]["IN"]
    assert "leg" in first and "arm" in first and "limb" in first   # $LIMB includes $LOWER_LIMB and $UPPER_LIMB


@pytest.mark.parametrize("token,message", [
    ({"TEXT": "leg"}, "NORM or LOWER"),
    ({"NORM": "leg", "OP": "several"}, "OP must be"),
    ({"NORM": {"REGEX": "(unclosed"}}, "bad REGEX"),
    ({"NORM": {"IN": ["two words"]}}, "not one word"),
    ({"IS_SENT_START": True}, "IS_SENT_START may only be false"),
])
def test_unsupported_token_pattern_is_refused_naming_it(token, message):
    def mutate(d):
        d["concepts"]["RADICULOPATHY"]["patterns"].append({"id": "RAD-BAD", "tokens": [token, {"NORM": "pain"}]})
    with pytest.raises(DataFileError, match=rf"RAD-BAD.*{message}"):
        _lexicon_with(mutate)

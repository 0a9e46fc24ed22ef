"""The evaluation notebook runs headlessly against the installed package and
is committed without outputs (outputs could hold patient text)."""

import json
import os

import pytest

from conftest import ROOT, SHARED, need_shared

NOTEBOOK = ROOT / "notebooks" / "1.0-evaluation.ipynb"


def test_notebook_committed_without_outputs():
    nb = json.loads(NOTEBOOK.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None


@pytest.mark.slow
def test_notebook_executes(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    need_shared(SHARED / "data" / "negex" / "negex.jsonl")
    monkeypatch.setenv("SPINE_AUDIT_SHARED", str(SHARED))
    monkeypatch.setenv("SPINE_AUDIT_NB_LIMIT", "150")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "concept_micro_f1" in text and "negation F1" in text
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 3
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
    os.environ.pop("SPINE_AUDIT_NB_LIMIT", None)

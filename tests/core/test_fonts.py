"""The Simplified Chinese face is extracted from a font collection by copying its
tables as they are: re-encoding them (as saving the face that was inspected would do
with its cmap) took about 40 s for Noto Sans CJK, long enough for the first PDF
download after a deploy to time out."""
from __future__ import annotations

from pathlib import Path

import pytest

from kepu import fonts as pdf

fontTools = pytest.importorskip("fontTools.ttLib")

COLLECTIONS = [Path(p) for p in pdf.REGULAR_CANDIDATES if p.endswith(".ttc")]


@pytest.fixture
def collection() -> Path:
    for path in COLLECTIONS:
        if path.is_file():
            return path
    pytest.skip("no CJK font collection installed")


def test_extracted_face_keeps_the_collections_tables_byte_for_byte(app, tmp_path, collection):
    app.config["PDF_FONT_CACHE_DIR"] = str(tmp_path)
    with app.app_context():
        extracted = pdf._usable(collection, 2)
    assert extracted is not None and extracted.parent == tmp_path
    source = fontTools.TTFont(str(collection), fontNumber=2, lazy=True)
    copy = fontTools.TTFont(str(extracted), lazy=True)
    assert sorted(copy.reader.keys()) == sorted(source.reader.keys())
    for tag in source.reader.keys():
        if tag == "head":  # its checksum and modification time are the new file's
            continue
        assert copy.reader[tag] == source.reader[tag], f"table {tag} was re-encoded"
    assert pdf._covers_chinese(copy)
    assert "SC" in copy["name"].getDebugName(1)
    assert not list(tmp_path.glob("*.part"))


def test_extraction_is_cached(app, tmp_path, collection):
    app.config["PDF_FONT_CACHE_DIR"] = str(tmp_path)
    with app.app_context():
        first = pdf._usable(collection, 2)
        stamp = first.stat().st_mtime_ns
        second = pdf._usable(collection, 2)
    assert second == first and second.stat().st_mtime_ns == stamp

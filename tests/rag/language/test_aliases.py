"""A user's aliases file: short names their readers use, loaded with clear errors."""

from __future__ import annotations

import json

import pytest

from rag.errors import ConfigError
from rag.language.aliases import load_aliases
from tests.conftest import ROOT


def test_the_shipped_example_loads_lower_cased():
    table = load_aliases(ROOT / "examples" / "news-aliases.json")
    assert table["msft"] == "microsoft" and table["windows maker"] == "microsoft"


@pytest.mark.parametrize(("content", "words"), [
    ("{not json", "is not valid JSON"),
    (json.dumps(["msft", "microsoft"]), "is not usable"),
    (json.dumps({"msft": 3}), "is not usable"),
    (json.dumps({"": "microsoft"}), "is not usable"),
    (b"\xff\xfe\x00", "is not valid JSON"),
])
def test_a_bad_file_is_named_with_what_to_write(tmp_path, content, words):
    path = tmp_path / "aliases.json"
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    with pytest.raises(ConfigError) as err:
        load_aliases(path)
    assert str(path) in str(err.value) and words in str(err.value)
    assert '{"msft": "Microsoft"' in str(err.value)


def test_a_missing_file_says_which_setting_names_it(tmp_path):
    with pytest.raises(ConfigError, match="CITEWISE_ALIASES_FILE"):
        load_aliases(tmp_path / "nope.json")

"""The README's op table is the catalogue's (``python -m conformance catalog``), so it cannot go stale."""

from pathlib import Path

from conformance import catalog, cli

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_op_table_is_the_catalogue(capsys) -> None:
    assert cli.main(["catalog"]) == 0
    table = capsys.readouterr().out.strip()
    assert table.count("\n") >= len(catalog.CATALOG)  # one row per entry plus the header
    assert table in README.read_text(), "README op table is stale: paste `python -m conformance catalog`"

